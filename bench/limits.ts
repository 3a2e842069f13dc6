// Cost of a limit check: an authenticated route (dev-issuer token reused, policy, audit) with no
// limit, with a limit on the in-memory store and with the same limit on Redis, in one run.
// The limits are high enough never to refuse, so every request pays for the check and passes.
// Usage: npm run bench:limits   (needs Redis at REDIS_URL, default redis://127.0.0.1:6379)
// BENCH_CLUSTER=1 adds the same limit on a six-node Redis Cluster started here (redis-server, redis-cli).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { benchFile, GATEWAY_READY, measureLoad, median, startChild, stopChildren } from './lib.js';
import { join } from 'node:path';
import { loadDevIssuer } from '../src/authn/dev/dev-issuer.js';
import { startCluster } from '../test/harness/redis-cluster.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const here = benchFile;
const cluster = process.env.BENCH_CLUSTER === '1' ? await startCluster() : undefined;
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-limits-'));


const [, upstreamPort] = await startChild([here('./upstream.mjs')], /^(\d+)\n/);
const upstream = { url: `http://127.0.0.1:${upstreamPort}` };
const limit = [{ name: 'per-client', key: ['subject'], rate: '1000000/s', burst: 1000000 }];
const stores = {
  memory: { store: 'memory' },
  redis: { store: 'redis', redis: { url: REDIS_URL, prefix: `gatehouse-bench-${process.pid}:` } },
  cluster: { store: 'redis', redis: { cluster: { nodes: cluster?.nodes.slice(0, 3) ?? [] }, prefix: `gatehouse-bench-${process.pid}:` } },
};
function config(store: keyof typeof stores): string {
  const file = join(dir, `${store}.yaml`);
  writeFileSync(file, JSON.stringify({
    dev: { keyFile: 'dev-issuer.json' },
    listen: { port: 0, host: '127.0.0.1' }, admin: { port: 0 }, audit: { sink: 'file', path: join(dir, `${store}-audit.log`) },
    limits: stores[store],
    routes: [
      { name: 'none', match: { path: '/none/*' }, authenticate: ['dev'], allow: [{ roles: ['reader'] }], upstream },
      { name: 'limited', match: { path: '/limited/*' }, authenticate: ['dev'], allow: [{ roles: ['reader'] }], limits: limit, upstream },
    ],
  }));
  return file;
}
const READY = GATEWAY_READY;
const memoryFile = config('memory');
const redisFile = config('redis');
const [, memPort] = await startChild([here('../bin/gatehouse.js'), 'start', '-c', memoryFile], READY);
const [, redisPort] = await startChild([here('../bin/gatehouse.js'), 'start', '-c', redisFile], READY);
const clusterPort = cluster ? (await startChild([here('../bin/gatehouse.js'), 'start', '-c', config('cluster')], READY))[1] : undefined;
const token = await (await loadDevIssuer({ keyFile: 'dev-issuer.json' }, dir)).sign({ sub: 'bench', roles: ['reader'] });
const headers = { authorization: `Bearer ${token}` };

const scenarios: [string, string][] = [
  ['authenticated route, no limit', `http://127.0.0.1:${memPort}/none/x`],
  ['+ rate limit, memory store', `http://127.0.0.1:${memPort}/limited/x`],
  ['+ rate limit, Redis store', `http://127.0.0.1:${redisPort}/limited/x`],
  ...(clusterPort ? [['+ rate limit, Redis Cluster store (3 masters)', `http://127.0.0.1:${clusterPort}/limited/x`] as [string, string]] : []),
];
async function measure(url: string): Promise<number> {
  return measureLoad({ url, seconds: SECONDS, connections: 16, headers });
}
try {
  const results = new Map<string, number[]>(scenarios.map(([n]) => [n, []]));
  for (const [, url] of scenarios) await measure(url);
  for (let round = 0; round < ROUNDS; round++) for (const [name, url] of scenarios) results.get(name)!.push(await measure(url));
    const base = median(results.get(scenarios[0]![0])!);
  console.log(`\n${ROUNDS} alternating rounds of ${SECONDS} s, bench/load.mjs with 16 keep-alive connections; Redis on this machine.\n`);
  console.log('| scenario | req/s (median) | ratio to no limit |\n|---|--:|--:|');
  for (const [name] of scenarios) {
    const m = median(results.get(name)!);
    console.log(`| ${name} | ${m.toFixed(0)} | ${(m / base).toFixed(2)} |`);
  }
} finally {
  stopChildren();
  await cluster?.stop();
}
