// A small closed-loop load generator (undici keep-alive pool) used for every method alike, because
// wrk cannot present client certificates. Prints one JSON line: { rps, total, non2xx }.
// Usage: node bench/load.mjs '<json options>'  with { url, seconds, connections, headers, method?, body?, ca?, cert?, key? }
import { Pool } from 'undici';

const opts = JSON.parse(process.argv[2]);
const u = new URL(opts.url);
const pool = new Pool(u.origin, {
  connections: opts.connections,
  pipelining: 1,
  ...(u.protocol === 'https:' ? { connect: { ca: opts.ca, cert: opts.cert, key: opts.key, servername: 'localhost' } } : {}),
});
const path = u.pathname + u.search;
let total = 0;
let non2xx = 0;
const warmupEnd = Date.now() + 1000;
const end = warmupEnd + opts.seconds * 1000;
let measuredStart = 0;
let measured = 0;

async function loop() {
  while (Date.now() < end) {
    const { statusCode, body } = await pool.request({ path, method: opts.method ?? 'GET', headers: opts.headers, body: opts.body });
    await body.dump();
    if (Date.now() >= warmupEnd) {
      if (measuredStart === 0) measuredStart = Date.now();
      measured++;
      if (statusCode < 200 || statusCode >= 300) non2xx++;
    }
    total++;
  }
}
await Promise.all(Array.from({ length: opts.connections }, loop));
await pool.close();
process.stdout.write(JSON.stringify({ rps: measured / ((Date.now() - measuredStart) / 1000), total, non2xx }) + '\n');
