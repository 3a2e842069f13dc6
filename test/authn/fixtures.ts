/** Test fixtures for authn: a real JWKS/discovery server on port 0 and keys to sign tokens with. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { KeyStore, type KeyStoreOptions } from '../../src/authn/jwt/jwks.js';
import { createJwtProvider, type JwtProvider, type JwtProviderOptions } from '../../src/authn/jwt/provider.js';
import { DEFAULT_CLAIMS } from '../../src/identity/claims.js';

/** A signing key and its public JWK. */
export interface TestKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly jwk: JWK;
}

let counter = 0;

/** Generate a key pair; the public JWK carries kid (and alg/use unless told otherwise). */
export async function testKey(alg = 'RS256', jwkExtra: Partial<JWK> = { use: 'sig' }): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `test-${++counter}`;
  return { kid, alg, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, ...jwkExtra } };
}

/** A JWKS + discovery server whose key set and responses tests can change. */
export interface JwksServer {
  readonly issuer: string;
  readonly jwksUri: string;
  /** Requests served for /jwks. */
  readonly jwksRequests: number;
  keys: JWK[];
  /** Replace the response for one path (status, content type, body). */
  override(path: string, res: { status?: number; type?: string; body: string } | undefined): void;
  close(): Promise<void>;
}

/** Start on 127.0.0.1:0 serving `/.well-known/openid-configuration` and `/jwks`. */
export async function startJwksServer(keys: JWK[] = []): Promise<JwksServer> {
  const overrides = new Map<string, { status?: number; type?: string; body: string }>();
  let jwksRequests = 0;
  let issuer = '';
  const state = { keys };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/jwks') jwksRequests++;
    const o = overrides.get(path);
    if (o) {
      res.writeHead(o.status ?? 200, { 'content-type': o.type ?? 'application/json' }).end(o.body);
    } else if (path === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    } else if (path === '/jwks') {
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: state.keys }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    get jwksRequests() { return jwksRequests; },
    get keys() { return state.keys; },
    set keys(k: JWK[]) { state.keys = k; },
    override(path, r) { if (r) overrides.set(path, r); else overrides.delete(path); },
    close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }),
  };
}

/** Key store options for a test server: short cooldown, long refresh (tests call refresh()). */
export function storeOptions(srv: JwksServer, extra: Partial<KeyStoreOptions> = {}): KeyStoreOptions {
  return {
    issuer: srv.issuer, discover: true, fetchTimeoutMs: 2000, refreshIntervalMs: 3_600_000,
    unknownKeyCooldownMs: 0, algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'], ...extra,
  };
}

export const AUDIENCE = 'api://gatehouse-test';

/** A started provider over a started key store for `srv`. */
export async function providerFor(
  srv: JwksServer, extra: Partial<JwtProviderOptions> = {}, store: Partial<KeyStoreOptions> = {},
): Promise<{ provider: JwtProvider; keys: KeyStore }> {
  const keys = new KeyStore(storeOptions(srv, store));
  const provider = createJwtProvider({
    name: 'test', issuer: srv.issuer, audience: [AUDIENCE], algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    clockSkewSec: 30, claims: DEFAULT_CLAIMS, keys, ...extra,
  });
  await provider.start();
  return { provider, keys };
}

const now = (): number => Math.floor(Date.now() / 1000);

/** Sign a token: standard claims from `issuer`, overridable; header kid/alg from the key unless overridden. */
export function sign(
  key: TestKey, issuer: string, claims: JWTPayload = {}, header: Record<string, unknown> = {},
): Promise<string> {
  const t = now();
  const payload: JWTPayload = { iss: issuer, sub: 'alice', aud: AUDIENCE, iat: t, exp: t + 300, ...claims };
  for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, ...header }).sign(key.privateKey);
}

export { now };
