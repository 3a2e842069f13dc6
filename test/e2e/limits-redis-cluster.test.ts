import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startUpstream } from '../harness/upstream.js';
import { rawRequest } from '../harness/http.js';
import { startCluster, type TestCluster } from '../harness/redis-cluster.js';
import { redisClusterAvailable } from '../limits/redis-env.js';

const available = redisClusterAvailable();
const ROUTES = 16;

/** Route name → port of the master holding its limit state (from the keys on each master). */
async function ownerOfRoutes(cluster: TestCluster, prefix: string): Promise<Map<string, number>> {
  const owners = new Map<string, number>();
  for (const port of await cluster.masters()) {
    const admin = cluster.client(port);
    const keys = await admin.keys(`${prefix}*`).finally(() => admin.disconnect());
    // `{route%3A<route>/<limit>:<caller key>}`: the hash tag of the route's limit (one caller: `route=all`).
    for (const key of keys) owners.set(/\{route%3A([a-z0-9]+)\//.exec(key)![1]!, port);
  }
  return owners;
}

test('two gateways on a Redis Cluster: shared budgets over all masters; a master SIGKILLed → its closed limits 503, open ones served, the rest unaffected; after the failover limited again', { skip: !available }, async () => {
  const cluster = await startCluster({ fullCoverage: false });
  const upstream = await startUpstream((_req, res) => res.writeHead(200).end('ok'));
  const prefix = `gatehouse-test-${randomBytes(4).toString('hex')}:`;
  const route = (name: string, limit: Record<string, unknown>): Record<string, unknown> => ({
    name, match: { path: `/${name}` }, public: true, limits: [{ name: 'l', key: ['route'], ...limit }], upstream: { url: upstream.url },
  });
  const config = {
    limits: { store: 'redis', redis: { cluster: { nodes: cluster.nodes.slice(0, 3) }, prefix, timeout: '250ms' }, fail: 'closed' },
    routes: Array.from({ length: ROUTES }, (_, i) => [
      route(`s${i}`, { rate: '1/m', burst: 4 }),
      // A slow refill keeps each route's key in Redis (it expires when the bucket is full again).
      route(`l${i}`, { rate: '1/m', burst: 100_000 }),
      route(`o${i}`, { rate: '1/m', burst: 100_000, fail: 'open' }),
    ]).flat(),
  };
  const lines: string[] = [];
  const log = pino({ level: 'info' }, new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } }));
  const gateways: TestGateway[] = [];
  try {
    gateways.push(await startGateway(config, { log }), await startGateway(config));
    const [a, b] = gateways as [TestGateway, TestGateway];
    const status = async (gw: TestGateway, name: string): Promise<number> => (await rawRequest(gw.url, 'GET', `/${name}`)).status;

    // Warm-up: each gateway's first command to a master (connection, slot map, script load) can take
    // longer than the 250 ms timeout on a loaded machine; the l routes' budgets are large, so this
    // costs nothing below.
    for (const gw of [a, b]) {
      for (let i = 0; i < ROUTES; i++) {
        for (let tries = 0; tries < 50 && (await status(gw, `l${i}`)) !== 200; tries++) await new Promise((r) => setTimeout(r, 100));
      }
    }

    // Shared budgets: 3 requests through each gateway, 4 pass in all, on every route.
    for (let i = 0; i < ROUTES; i++) {
      const seen = [];
      for (const gw of [a, b, a, b, a, b]) seen.push(await status(gw, `s${i}`));
      assert.deepEqual(seen, [200, 200, 200, 200, 429, 429], `route s${i}`);
      assert.equal(await status(a, `l${i}`), 200);
      assert.equal(await status(b, `o${i}`), 200);
    }
    const owners = await ownerOfRoutes(cluster, prefix);
    assert.equal(owners.size, ROUTES * 3, 'every route\'s state is in the cluster');
    assert.equal(new Set(owners.values()).size, 3, 'the routes\' state is spread over all three masters');
    const on = (port: number, kind: string): string[] => [...owners].filter(([n, p]) => p === port && n.startsWith(kind)).map(([n]) => n);
    const victim = (await cluster.masters()).find((p) => ['s', 'l', 'o'].every((k) => on(p, k).length > 0))!;
    assert.ok(victim, 'a master holding routes of each kind');
    const admin = cluster.client(victim);
    assert.equal(await admin.call('WAIT', '1', '2000'), 1, 'the replica has the counts');
    admin.disconnect();

    let unavailable = 0;
    await cluster.failOver(victim, async () => {
      for (let i = 0; i < ROUTES; i++) {
        for (const gw of [a, b]) {
          const l = await rawRequest(gw.url, 'GET', `/l${i}`);
          if (owners.get(`l${i}`) !== victim) assert.equal(l.status, 200, `l${i} is on a live master`);
          else if (l.status !== 200) {
            assert.equal(l.status, 503);
            assert.equal(l.json().code, 'limiter_unavailable');
            unavailable++;
          }
          assert.equal(await status(gw, `o${i}`), 200, `o${i} fails open`);
        }
      }
    });
    assert.ok(unavailable > 0, 'closed limits on the lost master answered 503 during the outage');
    assert.ok(lines.some((l) => l.includes('rate-limit store unavailable')));

    // After the failover: the promoted replica holds the counts, so the spent budgets stay spent.
    const probe = on(victim, 'l')[0]!;
    const deadline = Date.now() + 15_000;
    while (await status(a, probe) !== 200 && Date.now() < deadline) await sleep(100);
    assert.equal(await status(a, probe), 200, 'the gateway reached the promoted replica by itself');
    for (const name of on(victim, 's')) {
      assert.equal(await status(a, name), 429, `${name}: its spent burst survived the failover`);
      assert.equal(await status(b, name), 429);
    }
  } finally {
    for (const gw of gateways) await gw.stop();
    await upstream.close();
    await cluster.stop();
  }
});
