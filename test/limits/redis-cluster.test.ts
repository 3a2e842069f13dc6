import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { RedisStore } from '../../src/limits/redis-store.js';
import { StoreUnavailableError, type LimitCheck, type RateSpec } from '../../src/limits/store.js';
import { redisTag } from '../../src/limits/storage-key.js';
import { freePort } from '../harness/redis.js';
import { startCluster, type TestCluster } from '../harness/redis-cluster.js';
import { runStoreContract } from './store-contract.js';
import { redisClusterAvailable } from './redis-env.js';

const available = redisClusterAvailable();
const prefix = `gatehouse-test-${randomBytes(4).toString('hex')}:`;
let started: Promise<TestCluster> | undefined;
/** One cluster for the file, started on first use. */
const cluster = (): Promise<TestCluster> => (started ??= startCluster());
after(async () => { if (started) await (await started.catch(() => undefined))?.stop(); });

const slow = (id: string, burst: number): RateSpec => ({ kind: 'rate', id, count: 1, periodMs: 60_000, burst });
const keyOf = (check: LimitCheck): string => `${prefix}${redisTag(check.spec.id, check.key)}:r`;

runStoreContract('redis cluster', async () => new RedisStore({ nodes: (await cluster()).nodes.slice(0, 2), prefix }), available);

describe('RedisStore on a real three-master Redis Cluster', { skip: !available }, () => {
  let c: TestCluster;
  let a: RedisStore;
  let b: RedisStore;
  before(async () => {
    c = await cluster();
    a = new RedisStore({ nodes: c.nodes.slice(0, 1), prefix });
    b = new RedisStore({ nodes: c.nodes.slice(3), prefix });
  });
  after(async () => {
    await a?.close();
    await b?.close();
  });

  it('callers spread over all three masters: one batch across slots, each caller gets exactly its burst', async () => {
    const spec = slow(`spread-${randomBytes(3).toString('hex')}`, 3);
    const checks: LimitCheck[] = Array.from({ length: 60 }, (_, i) => ({ spec, key: `client:c${i}` }));
    // Five requests per caller, all in one event-loop turn: one batch spanning every master.
    const replies = await Promise.all(checks.flatMap((check) => Array.from({ length: 5 }, () => a.check([check]))));
    for (let i = 0; i < checks.length; i++) {
      const allowed = replies.slice(i * 5, i * 5 + 5).filter(([r]) => r!.allowed).length;
      assert.equal(allowed, 3, `caller ${i}`);
    }
    const owners = new Set(await Promise.all(checks.map((check) => c.masterOf(keyOf(check)))));
    assert.deepEqual([...owners].sort(), (await c.masters()).sort(), 'the keys landed on every master');
    // A check with limits of two callers on two different masters: both answered, in order.
    const [x, y] = await a.check([{ spec, key: 'client:c0' }, { spec: slow(`${spec.id}-b`, 2), key: 'client:c1' }]);
    assert.equal(x!.allowed, false);
    assert.equal(y!.allowed, true);
  });

  it('two stores (two gateways) share one budget per caller', async () => {
    const spec = slow(`shared-${randomBytes(3).toString('hex')}`, 4);
    const check: LimitCheck = { spec, key: 'client:shared' };
    const seen: boolean[] = [];
    for (const store of [a, b, a, b, a, b]) seen.push((await store.check([check]))[0]!.allowed);
    assert.deepEqual(seen, [true, true, true, true, false, false]);
  });

  it('scripts run on a master that never saw them (SCRIPT FLUSH: EVALSHA falls back to EVAL)', async () => {
    const spec = slow(`flush-${randomBytes(3).toString('hex')}`, 2);
    const checks = Array.from({ length: 12 }, (_, i): LimitCheck => ({ spec, key: `client:f${i}` }));
    await Promise.all(checks.map((check) => a.check([check])));
    for (const port of await c.masters()) {
      const admin = c.client(port);
      await admin.script('FLUSH');
      admin.disconnect();
    }
    const second = await Promise.all(checks.map((check) => a.check([check])));
    assert.ok(second.every(([r]) => r!.allowed && r!.remaining === 0), 'the second request of every caller counted');
    const third = await a.check([checks[0]!]);
    assert.equal(third[0]!.allowed, false);
  });

  it('leaseTokens: leased tokens come from the cluster and a caller gets exactly its bucket', async () => {
    const leased = new RedisStore({ nodes: c.nodes.slice(1, 2), prefix, leaseTokens: 5 });
    try {
      const check: LimitCheck = { spec: slow(`lease-${randomBytes(3).toString('hex')}`, 50), key: 'client:l' };
      let allowed = 0;
      for (let i = 0; i < 60; i++) if ((await leased.check([check]))[0]!.allowed) allowed++;
      assert.equal(allowed, 50);
    } finally {
      await leased.close();
    }
  });
});

describe('RedisStore on a cluster whose seed nodes are all down', { skip: !available }, () => {
  it('fails fast with StoreUnavailableError, reports down once, never shows the password, closes', async () => {
    const port = await freePort();
    const events: [string, string | undefined][] = [];
    const store = new RedisStore({ nodes: [`redis://:cl-s3cret@127.0.0.1:${port}`], timeoutMs: 200, onStateChange: (state, err) => events.push([state, err?.message]) });
    try {
      const check: LimitCheck = { spec: slow('down', 5), key: 'k' };
      for (let i = 0; i < 5; i++) {
        const err = await Promise.race([store.check([check]).then(() => undefined, (e: unknown) => e), new Promise((r) => setTimeout(() => r('hung'), 5000).unref())]);
        assert.ok(err instanceof StoreUnavailableError, String(err));
        assert.ok(!err.message.includes('cl-s3cret'));
      }
      assert.equal(events.filter(([s]) => s === 'down').length, 1);
      assert.ok(events.every(([, m]) => !m?.includes('cl-s3cret')));
    } finally {
      await store.close();
    }
  });
});
