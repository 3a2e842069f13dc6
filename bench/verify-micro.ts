// Micro-benchmark of one JWT verification on a cache miss (RSA-2048, RS256), sequential, one token at a
// time: the former jose v6 path (decodeJwt + jwtVerify with a key resolver, WebCrypto) against the
// current fast-jwt path (the provider's verify(), every call a cache miss), with the fast-jwt
// verifier alone and raw node:crypto as floors. Rounds alternate; medians are printed.
// Usage (one pinned core): taskset -c 1 node --import tsx bench/verify-micro.ts
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { decodeJwt, jwtVerify, type CryptoKey, type JWTVerifyGetKey } from 'jose';
import { AUDIENCE, missSetup } from './miss-setup.js';

const TOKENS = Number(process.env.MICRO_TOKENS ?? 1000);
const CALLS = Number(process.env.MICRO_CALLS ?? 2000);
const ROUNDS = Number(process.env.MICRO_ROUNDS ?? 5);
const { issuer, jwk, keys, provider, verifying, tokens, close } = await missSetup(TOKENS);

// The former miss path: what jwt.ts did before fast-jwt (issuer pre-decode, then jwtVerify).
const resolve: JWTVerifyGetKey<CryptoKey> = (header) => keys.getKey({ kid: header.kid, alg: header.alg! });
const joseOptions = { issuer: [issuer], audience: [AUDIENCE], algorithms: ['RS256'], clockTolerance: 60, requiredClaims: ['exp'] };
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
close();
