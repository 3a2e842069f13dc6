// WebSocket throughput: echoed messages per second straight to a `ws` upstream vs through Gatehouse
// (a public route with `websocket: true`, audit to a file), in alternating rounds. The gateway runs in
// this process with the clients; the upstream is a child process. Usage: npm run bench:websocket
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { WebSocket } from 'ws';
import { runGateway } from '../src/server/run.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CLIENTS = 16;
const WINDOW = 8;
const MESSAGE = Buffer.alloc(1024, 1);

/** Echoed messages per second over CLIENTS sockets, each keeping WINDOW messages in flight. */
async function measure(url: string): Promise<number> {
  const sockets = await Promise.all(Array.from({ length: CLIENTS }, () => new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  })));
  let echoed = 0;
  let running = true;
  for (const ws of sockets) {
    ws.on('message', () => { echoed++; if (running) ws.send(MESSAGE); });
    for (let i = 0; i < WINDOW; i++) ws.send(MESSAGE);
  }
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  running = false;
  const rate = echoed / SECONDS;
  for (const ws of sockets) ws.close();
  return rate;
}

const upstream = spawn(process.execPath, [new URL('./ws-upstream.mjs', import.meta.url).pathname], { stdio: ['ignore', 'pipe', 'inherit'] });
const [portLine] = (await once(upstream.stdout!, 'data')) as [Buffer];
const direct = `ws://127.0.0.1:${portLine.toString().trim()}/feed`;
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-ws-'));
const file = join(dir, 'bench.yaml');
writeFileSync(file, JSON.stringify({
  listen: { port: 0, host: '127.0.0.1' }, admin: { port: 0 },
  audit: { sink: 'file', path: join(dir, 'audit.log') },
  routes: [{ name: 'feed', match: { path: '/feed' }, public: true, websocket: true, upstream: { url: `http://127.0.0.1:${portLine.toString().trim()}` } }],
}));
const gw = await runGateway(file, pino({ level: 'silent' }));
const viaGateway = `ws://127.0.0.1:${gw.port}/feed`;
const rates = { direct: [] as number[], gatehouse: [] as number[] };
try {
  for (let r = 0; r < ROUNDS; r++) {
    rates.direct.push(await measure(direct));
    rates.gatehouse.push(await measure(viaGateway));
  }
} finally {
  await gw.stop();
  upstream.kill();
}
const best = (xs: number[]): number => Math.max(...xs);
console.log(`direct     ${best(rates.direct).toFixed(0)} msg/s`);
console.log(`gatehouse  ${best(rates.gatehouse).toFixed(0)} msg/s  (${(best(rates.gatehouse) / best(rates.direct)).toFixed(2)} of direct)`);
