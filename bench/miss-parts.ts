// Micro-benchmark of the parts of one cache miss (RS256, RSA-2048), sequential, one core: the
// unverified decode, the fast-jwt verifier, raw node:crypto, the identity, and the provider's whole
// verify() (every call a miss). Rounds alternate; medians are printed.
// Usage (one pinned core): taskset -c 1 node --import tsx bench/miss-parts.ts
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { createDecoder } from 'fast-jwt';
import { decodeToken } from '../src/authn/jwt/decode.js';
import { DEFAULT_CLAIMS, identityFromClaims } from '../src/identity/claims.js';
import { missSetup } from './miss-setup.js';

const TOKENS = 1000;
const CALLS = Number(process.env.MICRO_CALLS ?? 4000);
const ROUNDS = Number(process.env.MICRO_ROUNDS ?? 5);
const { jwk, provider, verifying, tokens, close } = await missSetup(TOKENS);
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
close();
