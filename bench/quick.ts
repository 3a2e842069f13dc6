// Quick throughput check: the direct upstream vs Gatehouse on an authenticated GET (dev-issuer RS-class
// ES256 token reused, route policy, audit line to a file, identity headers) and on a public route,
// in alternating rounds with wrk. Prints req/s and the ratio to direct. Usage: npm run bench:quick
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { runGateway } from '../src/server/run.js';

const DURATION = process.env.BENCH_DURATION ?? '5s';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const run = promisify(execFile);

// Asynchronous: the upstream and the gateway share this process's event loop.
async function wrk(url: string, headers: string[] = []): Promise<number> {
  const args = ['-t1', '-c32', `-d${DURATION}`, '--latency', ...headers.flatMap((h) => ['-H', h]), url];
  const { stdout: out } = await run('wrk', args, { encoding: 'utf8' });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!m) throw new Error(`wrk output not understood:\n${out}`);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (non2xx) throw new Error(`${non2xx[1]} non-2xx responses from ${url}`);
  return Number(m[1]);
}

const upstream = spawn(process.execPath, [new URL('./upstream.mjs', import.meta.url).pathname], { stdio: ['ignore', 'pipe', 'inherit'] });
const [portLine] = (await once(upstream.stdout!, 'data')) as [Buffer];
const upstreamUrl = `http://127.0.0.1:${portLine.toString().trim()}`;
// A second replica for the route with two targets (round-robin over both).
const upstream2 = spawn(process.execPath, [new URL('./upstream.mjs', import.meta.url).pathname], { stdio: ['ignore', 'pipe', 'inherit'] });
const [portLine2] = (await once(upstream2.stdout!, 'data')) as [Buffer];
const upstreamUrl2 = `http://127.0.0.1:${portLine2.toString().trim()}`;
const naive = spawn(process.execPath, [new URL('./naive-proxy.mjs', import.meta.url).pathname], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, UPSTREAM_URL: upstreamUrl } });
const [naiveLine] = (await once(naive.stdout!, 'data')) as [Buffer];
const naiveUrl = `http://127.0.0.1:${naiveLine.toString().trim()}`;
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
const file = join(dir, 'bench.yaml');
writeFileSync(file, JSON.stringify({
  dev: true,
  listen: { port: 0, host: '127.0.0.1' }, admin: { port: 0 },
  audit: { sink: 'file', path: join(dir, 'audit.log') },
  routes: [
    { name: 'public', match: { path: '/public/*' }, public: true, upstream: { url: upstreamUrl } },
    { name: 'targets', match: { path: '/targets/*' }, public: true, upstream: { url: upstreamUrl, targets: [upstreamUrl, upstreamUrl2] } },
    { name: 'api', match: { path: '/api/*', methods: ['GET'] }, authenticate: ['dev'], allow: [{ roles: ['reader'] }], upstream: { url: upstreamUrl } },
    { name: 'signed', match: { path: '/signed/*', methods: ['GET'] }, authenticate: ['dev'], allow: [{ roles: ['reader'] }], upstream: { url: upstreamUrl, assertion: true } },
  ],
}));
const gw = await runGateway(file, pino({ level: 'silent' }));
const token = await gw.ref.current.devIssuer!.sign({ sub: 'bench', roles: ['reader'] });
const base = `http://127.0.0.1:${gw.port}`;
const auth = [`Authorization: Bearer ${token}`];

const scenarios: [string, () => Promise<number>][] = [
  ['direct upstream', () => wrk(`${upstreamUrl}/x`)],
  ['naive node:http + undici proxy (reference)', () => wrk(`${naiveUrl}/x`)],
  ['gatehouse public route', () => wrk(`${base}/public/x`)],
  ['gatehouse public route, two targets', () => wrk(`${base}/targets/x`)],
  ['gatehouse JWT + policy + audit', () => wrk(`${base}/api/x`, auth)],
  ['gatehouse JWT + signed assertion', () => wrk(`${base}/signed/x`, auth)],
];
const results = new Map<string, number[]>(scenarios.map(([n]) => [n, []]));
for (let round = 0; round < ROUNDS; round++) for (const [name, measure] of scenarios) results.get(name)!.push(await measure());
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const direct = median(results.get('direct upstream')!);
console.log(`\n${ROUNDS} alternating rounds of ${DURATION}, wrk -t1 -c32, same machine (gateway, upstream and wrk share the cores)\n`);
console.log('| scenario | req/s (median) | ratio to direct |\n|---|--:|--:|');
for (const [name] of scenarios) {
  const m = median(results.get(name)!);
  console.log(`| ${name} | ${m.toFixed(0)} | ${(m / direct).toFixed(2)} |`);
}
await gw.stop();
upstream.kill();
upstream2.kill();
naive.kill();
