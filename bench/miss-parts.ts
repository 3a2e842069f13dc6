// Micro-benchmark of the parts of one cache miss (RS256, RSA-2048), sequential, one core: the
// unverified decode, the fast-jwt verifier, raw node:crypto, the identity, and the provider's whole
// verify() (every call a miss). Rounds alternate; medians are printed.
// Usage (one pinned core): taskset -c 1 node --import tsx bench/miss-parts.ts
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createDecoder } from 'fast-jwt';
import { createJwtProvider } from '../src/authn/jwt/provider.js';
import { decodeToken } from '../src/authn/jwt/decode.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeyStore } from '../src/authn/jwt/jwks.js';
import type { VerifyingKey } from '../src/authn/jwt/key-resolver.js';
import { DEFAULT_CLAIMS, identityFromClaims } from '../src/identity/claims.js';

const TOKENS = 1000;
const CALLS = Number(process.env.MICRO_CALLS ?? 4000);
const ROUNDS = Number(process.env.MICRO_ROUNDS ?? 5);
const AUDIENCE = 'api://bench';
const KID = 'bench-1';
const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
const jwk = { ...(await exportJWK(publicKey)), kid: KID, alg: 'RS256', use: 'sig' };
const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const keys = new KeyStore({
  issuer, jwksUri: `${issuer}/jwks`, discover: false, fetchTimeoutMs: 2000, refreshIntervalMs: 3_600_000,
  unknownKeyCooldownMs: 30_000, algorithms: ['RS256'],
});
// cacheSize 1 and distinct tokens in turn: every verify() below is a cache miss.
const provider = createJwtProvider({
  name: 'bench', issuer, audience: [AUDIENCE], algorithms: ['RS256'], clockSkewSec: 60, claims: DEFAULT_CLAIMS, keys, cacheSize: 1,
});
await provider.start();
const now = Math.floor(Date.now() / 1000);
const tokens = await Promise.all(Array.from({ length: TOKENS }, (_, i) => new SignJWT({ scope: 'read write', roles: ['reader'], azp: 'bench-client' })
  .setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' }).setIssuer(issuer).setSubject(`user-${i}`).setAudience(AUDIENCE)
  .setIssuedAt(now).setExpirationTime(now + 3600).setJti(`t-${i}`).sign(privateKey)));
const verifying = keys.lookup({ kid: KID, alg: 'RS256' }) as VerifyingKey;
const keyObject = createPublicKey({ key: jwk, format: 'jwk' });
const fjDecode = createDecoder({ complete: true });
const payloads = tokens.map((t) => decodeJwt(t));

const methods: Record<string, (i: number) => unknown> = {
  'jose decodeProtectedHeader + decodeJwt': (i) => [decodeProtectedHeader(tokens[i]!), decodeJwt(tokens[i]!)],
  'fast-jwt decoder (complete)': (i) => fjDecode(tokens[i]!),
  'decodeToken (gatehouse)': (i) => decodeToken(tokens[i]!),
  'fast-jwt per-key verifier (decode + createVerify + claims)': (i) => verifying.verify(tokens[i]!),
  'identityFromClaims': (i) => identityFromClaims('bench', { ...payloads[i]! }, DEFAULT_CLAIMS, 'jwt'),
  'node:crypto one-shot verify': (i) => {
    const t = tokens[i]!; const dot = t.lastIndexOf('.');
    return cryptoVerify('sha256', Buffer.from(t.slice(0, dot)), keyObject, Buffer.from(t.slice(dot + 1), 'base64url'));
  },
  'provider.verify(), cache miss': async (i) => {
    const r = await provider.verify(tokens[i]!);
    if (!r.ok) throw new Error(r.refusal.code);
  },
};

async function measure(fn: (i: number) => unknown): Promise<number> {
  const start = process.hrtime.bigint();
  for (let n = 0; n < CALLS; n++) await fn(n % TOKENS);
  return Number(process.hrtime.bigint() - start) / CALLS / 1000;
}
const results = new Map<string, number[]>(Object.keys(methods).map((k) => [k, []]));
for (const fn of Object.values(methods)) await measure(fn);
for (let round = 0; round < ROUNDS; round++) for (const [name, fn] of Object.entries(methods)) results.get(name)!.push(await measure(fn));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`node ${process.version}, RS256 RSA-2048, ${CALLS} sequential calls x ${ROUNDS} rounds (median µs)\n`);
console.log('| part | µs |\n|---|--:|');
for (const [name, xs] of results) console.log(`| ${name} | ${median(xs).toFixed(1)} |`);
provider.close();
server.close();
