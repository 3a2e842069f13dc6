// Cost of a limit check: an authenticated route (dev-issuer token reused, policy, audit) with no
// limit, with a limit on the in-memory store and with the same limit on Redis, in one run.
// The limits are high enough never to refuse, so every request pays for the check and passes.
// Usage: npm run bench:limits   (needs Redis at REDIS_URL, default redis://127.0.0.1:6379)
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadDevIssuer } from '../src/authn/dev-issuer.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const run = promisify(execFile);
const here = (f: string): string => new URL(f, import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-limits-'));
const children: ChildProcess[] = [];

function startChild(args: string[], ready: RegExp): Promise<RegExpMatchArray> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve(m);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out.slice(-500)}`)));
  });
}

const [, upstreamPort] = await startChild([here('./upstream.mjs')], /^(\d+)\n/);
const upstream = { url: `http://127.0.0.1:${upstreamPort}` };
const limit = [{ name: 'per-client', key: ['subject'], rate: '1000000/s', burst: 1000000 }];
function config(store: 'memory' | 'redis'): string {
  const file = join(dir, `${store}.yaml`);
  writeFileSync(file, JSON.stringify({
    dev: { keyFile: 'dev-issuer.json' },
    listen: { port: 0, host: '127.0.0.1' }, admin: { port: 0 }, audit: { sink: 'file', path: join(dir, `${store}-audit.log`) },
    limits: store === 'redis' ? { store: 'redis', redis: { url: REDIS_URL, prefix: `gatehouse-bench-${process.pid}:` } } : { store: 'memory' },
    routes: [
      { name: 'none', match: { path: '/none/*' }, authenticate: ['dev'], allow: [{ roles: ['reader'] }], upstream },
      { name: 'limited', match: { path: '/limited/*' }, authenticate: ['dev'], allow: [{ roles: ['reader'] }], limits: limit, upstream },
    ],
  }));
  return file;
}
const READY = /"port":(\d+),"admin":(\d+)[^\n]*gatehouse listening/;
const memoryFile = config('memory');
const redisFile = config('redis');
const [, memPort] = await startChild([here('../bin/gatehouse.js'), 'start', '-c', memoryFile], READY);
const [, redisPort] = await startChild([here('../bin/gatehouse.js'), 'start', '-c', redisFile], READY);
const token = await (await loadDevIssuer({ keyFile: 'dev-issuer.json' }, dir)).sign({ sub: 'bench', roles: ['reader'] });
const headers = { authorization: `Bearer ${token}` };

const scenarios: [string, string][] = [
  ['authenticated route, no limit', `http://127.0.0.1:${memPort}/none/x`],
  ['+ rate limit, memory store', `http://127.0.0.1:${memPort}/limited/x`],
  ['+ rate limit, Redis store', `http://127.0.0.1:${redisPort}/limited/x`],
];
async function measure(url: string): Promise<number> {
  const { stdout } = await run(process.execPath, [here('./load.mjs'), JSON.stringify({ url, seconds: SECONDS, connections: 16, headers })]);
  const r = JSON.parse(stdout) as { rps: number; non2xx: number };
  if (r.non2xx > 0) throw new Error(`${url}: ${r.non2xx} non-2xx responses`);
  return r.rps;
}
try {
  const results = new Map<string, number[]>(scenarios.map(([n]) => [n, []]));
  for (const [, url] of scenarios) await measure(url);
  for (let round = 0; round < ROUNDS; round++) for (const [name, url] of scenarios) results.get(name)!.push(await measure(url));
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = median(results.get(scenarios[0]![0])!);
  console.log(`\n${ROUNDS} alternating rounds of ${SECONDS} s, bench/load.mjs with 16 keep-alive connections; Redis on this machine.\n`);
  console.log('| scenario | req/s (median) | ratio to no limit |\n|---|--:|--:|');
  for (const [name] of scenarios) {
    const m = median(results.get(name)!);
    console.log(`| ${name} | ${m.toFixed(0)} | ${(m / base).toFixed(2)} |`);
  }
} finally {
  for (const c of children) c.kill('SIGTERM');
}
