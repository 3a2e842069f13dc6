// What the cache-miss micro-benchmarks (verify-micro.ts, miss-parts.ts) share: an RS256 key served as
// a JWKS on a local port, a started provider whose cache holds one token (so every verify() of the
// tokens in turn is a miss), and TOKENS distinct tokens signed with the key.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { KeyStore } from '../src/authn/jwt/jwks.js';
import { createJwtProvider, type JwtProvider } from '../src/authn/jwt/provider.js';
import type { VerifyingKey } from '../src/authn/jwt/key-resolver.js';
import { DEFAULT_CLAIMS } from '../src/identity/claims.js';

export const AUDIENCE = 'api://bench';
export const KID = 'bench-1';

export interface MissSetup {
  readonly issuer: string;
  readonly jwk: JWK;
  readonly keys: KeyStore;
  readonly provider: JwtProvider;
  /** The provider's fast-jwt verifier of the key. */
  readonly verifying: VerifyingKey;
  readonly tokens: readonly string[];
  close(): void;
}

export async function missSetup(count: number): Promise<MissSetup> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: KID, alg: 'RS256', use: 'sig' };
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const keys = new KeyStore({
    issuer, jwksUri: `${issuer}/jwks`, discover: false, fetchTimeoutMs: 2000, refreshIntervalMs: 3_600_000,
    unknownKeyCooldownMs: 30_000, algorithms: ['RS256'],
  });
  // cacheSize 1 and distinct tokens in turn: every verify() is a cache miss.
  const provider = createJwtProvider({
    name: 'bench', issuer, audience: [AUDIENCE], algorithms: ['RS256'], clockSkewSec: 60, claims: DEFAULT_CLAIMS, keys, cacheSize: 1,
  });
  await provider.start();
  const now = Math.floor(Date.now() / 1000);
  const tokens = await Promise.all(Array.from({ length: count }, (_, i) => new SignJWT({ scope: 'read write', roles: ['reader'], azp: 'bench-client' })
    .setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' }).setIssuer(issuer).setSubject(`user-${i}`).setAudience(AUDIENCE)
    .setIssuedAt(now).setExpirationTime(now + 3600).setJti(`t-${i}`).sign(privateKey)));
  const verifying = keys.lookup({ kid: KID, alg: 'RS256' }) as VerifyingKey;
  return { issuer, jwk, keys, provider, verifying, tokens, close: () => { provider.close(); server.close(); } };
}
