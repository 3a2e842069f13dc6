// Mints N distinct, valid tokens (one per line) with a private key, for cache-miss load: every token has
// its own `sub` and `jti`, so every one needs its own signature verification at the gateway.
//   node bench/mint-tokens.mjs --key KEY.pem --alg RS256|ES256 --kid KID --iss ISS --aud AUD
//        [--role reader] [--n 40000] [--from 0] [--days 3650] --out FILE
// --from numbers the tokens from that index (so several processes can mint distinct parts side by side).
// Signing uses node:crypto directly (RS256 ≈ 1 ms per token on this machine; ES256 is much cheaper).
import { createPrivateKey, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  if (i >= 0) return args[i + 1];
  if (def === undefined) throw new Error(`--${name} is required`);
  return def;
};
const alg = opt('alg', 'RS256');
const key = createPrivateKey(readFileSync(opt('key'), 'utf8'));
const n = Number(opt('n', '40000'));
const from = Number(opt('from', '0'));
const days = Number(opt('days', '3650'));
const role = opt('role', 'reader');
const iss = opt('iss');
const aud = opt('aud');
const kid = opt('kid');
const out = opt('out');

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const header = b64({ alg, typ: 'JWT', kid });
const now = Math.floor(Date.now() / 1000);
const lines = [];
for (let i = from; i < from + n; i++) {
  const input = `${header}.${b64({ roles: [role], iat: now, iss, aud, sub: `bench-user-${i}`, exp: now + days * 86400, jti: `m${i}` })}`;
  const sig = alg === 'RS256'
    ? sign('sha256', Buffer.from(input), key)
    : sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  lines.push(`${input}.${sig.toString('base64url')}`);
}
writeFileSync(out, lines.join('\n') + '\n');
process.stderr.write(`mint-tokens: ${n} ${alg} tokens -> ${out}\n`);
