// HTTP/2 throughput: requests per second with node's HTTP/2 client (SESSIONS connections, STREAMS
// requests in flight on each) straight to an h2c upstream vs through Gatehouse (h2c inbound with
// prior knowledge, a public route to the same upstream's HTTP/1.1 port, audit to a file), HTTP/2 end
// to end through Gatehouse (h2c in, `http2: true` h2c out to the upstream's HTTP/2 port), and
// HTTP/1.1 through Gatehouse (undici, the same concurrency) for reference, in alternating rounds.
// The gateway runs in this process with the clients; the upstream is a child process.
// Usage: npm run bench:http2
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Agent, request } from 'undici';
import { runGateway } from '../src/server/run.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SESSIONS = 4;
const STREAMS = 16;

/** Run `one` in SESSIONS × STREAMS loops for SECONDS; completed requests per second. */
async function loop(one: (lane: number) => Promise<void>): Promise<number> {
  let done = 0;
  const end = Date.now() + SECONDS * 1000;
  await Promise.all(Array.from({ length: SESSIONS * STREAMS }, async (_, lane) => {
    while (Date.now() < end) {
      await one(lane);
      done++;
    }
  }));
  return done / SECONDS;
}

async function measureH2(base: string, path = '/bench'): Promise<number> {
  const sessions = await Promise.all(Array.from({ length: SESSIONS }, () => new Promise<http2.ClientHttp2Session>((resolve, reject) => {
    const s = http2.connect(base, () => resolve(s));
    s.once('error', reject);
  })));
  const rate = await loop((lane) => new Promise<void>((resolve, reject) => {
    const stream = sessions[lane % SESSIONS]!.request({ ':path': path });
    stream.on('response', (h) => { if (h[':status'] !== 200) reject(new Error(`status ${String(h[':status'])}`)); });
    stream.resume();
    stream.once('end', () => resolve());
    stream.once('error', reject);
  }));
  for (const s of sessions) s.close();
  return rate;
}

async function measureH1(base: string): Promise<number> {
  const agent = new Agent({ connections: SESSIONS * STREAMS });
  const rate = await loop(async () => {
    const res = await request(`${base}/bench`, { dispatcher: agent });
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
  });
  await agent.close();
  return rate;
}

const upstream = spawn(process.execPath, [new URL('./h2-upstream.mjs', import.meta.url).pathname], { stdio: ['ignore', 'pipe', 'inherit'] });
const [portLine] = (await once(upstream.stdout!, 'data')) as [Buffer];
const [h1Port, h2Port] = portLine.toString().trim().split(' ');
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-h2-'));
const file = join(dir, 'bench.yaml');
writeFileSync(file, JSON.stringify({
  listen: { port: 0, host: '127.0.0.1', http2: { h2c: true } }, admin: { port: 0 },
  audit: { sink: 'file', path: join(dir, 'audit.log') },
  routes: [
    { name: 'bench', match: { path: '/bench' }, public: true, upstream: { url: `http://127.0.0.1:${h1Port}` } },
    { name: 'bench-h2', match: { path: '/h2/*' }, public: true, upstream: { url: `http://127.0.0.1:${h2Port}`, stripPrefix: '/h2', http2: true } },
  ],
}));
const gw = await runGateway(file, pino({ level: 'silent' }));
const gateway = `http://127.0.0.1:${gw.port}`;
const rates = { direct: [] as number[], h2: [] as number[], h2h2: [] as number[], h1: [] as number[] };
try {
  for (let r = 0; r < ROUNDS; r++) {
    rates.direct.push(await measureH2(`http://127.0.0.1:${h2Port}`));
    rates.h2.push(await measureH2(gateway));
    rates.h2h2.push(await measureH2(gateway, '/h2/bench'));
    rates.h1.push(await measureH1(gateway));
  }
} finally {
  await gw.stop();
  upstream.kill();
}
const best = (xs: number[]): number => Math.max(...xs);
const [direct, h2, h2h2, h1] = [best(rates.direct), best(rates.h2), best(rates.h2h2), best(rates.h1)];
console.log(`direct h2c upstream        ${direct.toFixed(0)} req/s`);
console.log(`gatehouse h2c inbound      ${h2.toFixed(0)} req/s  (${(h2 / direct).toFixed(2)} of direct)`);
console.log(`gatehouse h2c in, h2c out   ${h2h2.toFixed(0)} req/s  (${(h2h2 / direct).toFixed(2)} of direct)`);
console.log(`gatehouse HTTP/1.1 inbound ${h1.toFixed(0)} req/s  (h2 inbound is ${(h2 / h1).toFixed(2)} of HTTP/1.1 inbound)`);
