// Micro-benchmark of one JWT verification on a cache miss (RSA-2048, RS256), sequential, one token at a
// time: the former jose v6 path (decodeJwt + jwtVerify with a key resolver, WebCrypto) against the
// current fast-jwt path (the provider's verify(), every call a cache miss), with the fast-jwt
// verifier alone and raw node:crypto as floors. Rounds alternate; medians are printed.
// Usage (one pinned core): taskset -c 1 node --import tsx bench/verify-micro.ts
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { decodeJwt, exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWTVerifyGetKey } from 'jose';
import { KeyStore } from '../src/authn/jwt/jwks.js';
import { createJwtProvider } from '../src/authn/jwt/provider.js';
import type { VerifyingKey } from '../src/authn/jwt/key-resolver.js';
import { DEFAULT_CLAIMS } from '../src/identity/claims.js';

const TOKENS = Number(process.env.MICRO_TOKENS ?? 1000);
const CALLS = Number(process.env.MICRO_CALLS ?? 2000);
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

// The former miss path: what jwt.ts did before fast-jwt (issuer pre-decode, then jwtVerify).
const resolve: JWTVerifyGetKey<CryptoKey> = (header) => keys.getKey({ kid: header.kid, alg: header.alg! });
const joseOptions = { issuer: [issuer], audience: [AUDIENCE], algorithms: ['RS256'], clockTolerance: 60, requiredClaims: ['exp'] };
const verifying = keys.lookup({ kid: KID, alg: 'RS256' }) as VerifyingKey;
const keyObject = createPublicKey({ key: jwk, format: 'jwk' });
const parts = tokens.map((t) => {
  const dot = t.lastIndexOf('.');
  return { input: Buffer.from(t.slice(0, dot)), signature: Buffer.from(t.slice(dot + 1), 'base64url') };
});

const methods: Record<string, (i: number) => unknown> = {
  'jose v6: decodeJwt + jwtVerify (before)': async (i) => {
    decodeJwt(tokens[i]!);
    await jwtVerify(tokens[i]!, resolve, joseOptions);
  },
  'provider.verify(), cache miss (now)': async (i) => {
    const r = await provider.verify(tokens[i]!);
    if (!r.ok) throw new Error(r.refusal.code);
  },
  'fast-jwt per-key verifier alone': (i) => verifying.verify(tokens[i]!),
  'node:crypto verify alone': (i) => {
    if (!cryptoVerify('sha256', parts[i]!.input, keyObject, parts[i]!.signature)) throw new Error('bad signature');
  },
};

async function measure(fn: (i: number) => unknown): Promise<number> {
  const start = process.hrtime.bigint();
  for (let n = 0; n < CALLS; n++) await fn(n % TOKENS);
  return Number(process.hrtime.bigint() - start) / CALLS / 1000;
}

const results = new Map<string, number[]>(Object.keys(methods).map((k) => [k, []]));
for (const fn of Object.values(methods)) await measure(fn); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, fn] of Object.entries(methods)) results.get(name)!.push(await measure(fn));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const before = median(results.get('jose v6: decodeJwt + jwtVerify (before)')!);
console.log(`node ${process.version}, RS256 RSA-2048, ${CALLS} sequential verifications x ${ROUNDS} rounds (median)\n`);
console.log('| path | µs per verification | vs jose |');
console.log('|---|--:|--:|');
for (const [name, xs] of results) console.log(`| ${name} | ${median(xs).toFixed(1)} | ${(median(xs) / before).toFixed(2)} |`);
provider.close();
server.close();
