// gRPC throughput: unary calls per second with @grpc/grpc-js (CHANNELS connections, CALLS in flight on
// each) straight to a grpc-js server vs through Gatehouse (h2c inbound, a route authenticated with a
// dev-issuer bearer token and a role rule, `http2: true` h2c to the upstream, audit to a file), in
// alternating rounds. The gateway runs in this process with the clients; the upstream is a child
// process. Usage: npm run bench:grpc
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { runGateway } from '../src/server/run.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CHANNELS = 4;
const CALLS = 16;
const REQUEST = Buffer.alloc(100, 1);
const id = (b: Buffer): Buffer => b;

async function measure(target: string, metadata: grpc.Metadata): Promise<number> {
  // Distinct channel options: grpc-js would otherwise share one connection between the clients.
  const clients = Array.from({ length: CHANNELS }, (_, i) => new grpc.Client(target, grpc.credentials.createInsecure(), { 'grpc.bench-channel': i }));
  let done = 0;
  const end = Date.now() + SECONDS * 1000;
  const one = (client: grpc.Client): Promise<void> => new Promise((resolve, reject) => {
    client.makeUnaryRequest('/bench.Echo/Say', id, id, REQUEST, metadata, (err) => (err ? reject(err) : resolve()));
  });
  await Promise.all(Array.from({ length: CHANNELS * CALLS }, async (_, lane) => {
    while (Date.now() < end) {
      await one(clients[lane % CHANNELS]!);
      done++;
    }
  }));
  for (const c of clients) c.close();
  return done / SECONDS;
}

const upstream = spawn(process.execPath, [new URL('./grpc-upstream.mjs', import.meta.url).pathname], { stdio: ['ignore', 'pipe', 'inherit'] });
const [portLine] = (await once(upstream.stdout!, 'data')) as [Buffer];
const upstreamPort = portLine.toString().trim();
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-grpc-'));
const file = join(dir, 'bench.yaml');
writeFileSync(file, JSON.stringify({
  dev: true,
  listen: { port: 0, host: '127.0.0.1', http2: { h2c: true } }, admin: { port: 0 },
  audit: { sink: 'file', path: join(dir, 'audit.log') },
  routes: [{ name: 'bench', match: { path: '/bench.Echo/*' }, authenticate: ['dev'], allow: [{ roles: ['reader'] }], upstream: { url: `http://127.0.0.1:${upstreamPort}`, http2: true } }],
}));
const gw = await runGateway(file, pino({ level: 'silent' }));
const authorized = new grpc.Metadata();
authorized.set('authorization', `Bearer ${await gw.ref.current.devIssuer!.sign({ sub: 'bench', roles: ['reader'] })}`);
const rates = { direct: [] as number[], gateway: [] as number[] };
try {
  for (let r = 0; r < ROUNDS; r++) {
    rates.direct.push(await measure(`127.0.0.1:${upstreamPort}`, new grpc.Metadata()));
    rates.gateway.push(await measure(`127.0.0.1:${gw.port}`, authorized));
  }
} finally {
  await gw.stop();
  upstream.kill();
}
const best = (xs: number[]): number => Math.max(...xs);
const [direct, through] = [best(rates.direct), best(rates.gateway)];
console.log(`direct grpc-js server  ${direct.toFixed(0)} calls/s`);
console.log(`through gatehouse      ${through.toFixed(0)} calls/s  (${(through / direct).toFixed(2)} of direct; bearer JWT, role rule, audit)`);
