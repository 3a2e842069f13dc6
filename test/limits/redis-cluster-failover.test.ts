import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisStore } from '../../src/limits/redis-store.js';
import { StoreUnavailableError, type LimitCheck, type RateSpec } from '../../src/limits/store.js';
import { redisTag } from '../../src/limits/storage-key.js';
import { startCluster } from '../harness/redis-cluster.js';
import { redisClusterAvailable } from './redis-env.js';

const available = redisClusterAvailable();
const prefix = `gatehouse-test-${randomBytes(4).toString('hex')}:`;
const slow = (id: string, burst: number): RateSpec => ({ kind: 'rate', id, count: 1, periodMs: 60_000, burst });
const keyOf = (check: LimitCheck): string => `${prefix}${redisTag(check.spec.id, check.key)}:r`;

/** Fails instead of hanging: a generous guard, not a measure of speed. */
function noHang<T>(p: Promise<T>): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('check() hung')), 5000).unref())]);
}

test('a master SIGKILLed under load: its callers fail fast, the others keep working; after the failover limits continue from the replica', { skip: !available }, async () => {
  const cluster = await startCluster({ fullCoverage: false });
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown): void => { unhandled.push(err); };
  process.on('unhandledRejection', onUnhandled);
  const events: string[] = [];
  const store = new RedisStore({ nodes: cluster.nodes, prefix, timeoutMs: 250, onStateChange: (state) => events.push(state) });
  try {
    const load = slow(`load-${randomBytes(3).toString('hex')}`, 100_000);
    const callers = Array.from({ length: 30 }, (_, i) => `client:k${i}`);
    const owner = new Map<string, number>();
    for (const key of callers) owner.set(key, await cluster.masterOf(keyOf({ spec: load, key })));
    const victim = owner.get(callers[0]!)!;
    const onVictim = callers.filter((k) => owner.get(k) === victim);
    const elsewhere = callers.filter((k) => owner.get(k) !== victim);
    assert.ok(elsewhere.length > 0 && new Set(owner.values()).size === 3, 'callers on every master');

    // A caller on the victim spends its whole burst; the writes reach the replica before the kill.
    const spentSpec = slow(`spent-${randomBytes(3).toString('hex')}`, 3);
    let spent: LimitCheck | undefined;
    for (let i = 0; spent === undefined; i++) {
      const candidate = { spec: spentSpec, key: `client:s${i}` };
      if (await cluster.masterOf(keyOf(candidate)) === victim) spent = candidate;
    }
    const before = await Promise.all([1, 2, 3, 4].map(() => store.check([spent])));
    assert.deepEqual(before.map(([r]) => r!.allowed), [true, true, true, false]);
    const admin = cluster.client(victim);
    assert.equal(await admin.call('WAIT', '1', '2000'), 1, 'the replica has the writes');
    admin.disconnect();
    assert.deepEqual(events, ['up']);

    let refused = 0;
    let servedElsewhere = 0;
    // Every caller once per round, each round in one batch, until the cluster has promoted the replica.
    await cluster.failOver(victim, async () => {
      const round = await Promise.all(callers.map((key) => noHang(store.check([{ spec: load, key }])).then(() => undefined, (err: unknown) => err)));
      round.forEach((err, i) => {
        const key = callers[i]!;
        if (owner.get(key) === victim) {
          if (err !== undefined) {
            assert.ok(err instanceof StoreUnavailableError, `victim caller: ${String(err)}`);
            refused++;
          }
        } else {
          assert.equal(err, undefined, `a caller on a live master failed: ${String(err)}`);
          servedElsewhere++;
        }
      });
    });
    assert.ok(refused > 0, 'the victim\'s callers were refused during the outage');
    assert.ok(servedElsewhere > 0);
    assert.equal(events.at(-1), 'down');

    // The replica is promoted: the victim's callers are limited again, from the replicated counts.
    const deadline = Date.now() + 15_000;
    let back = false;
    while (!back && Date.now() < deadline) {
      back = await noHang(store.check([{ spec: load, key: onVictim[0]! }])).then(() => true, () => false);
      if (!back) await sleep(100);
    }
    assert.ok(back, 'the store reached the promoted replica by itself');
    assert.equal((await store.check([spent]))[0]!.allowed, false, 'the spent burst survived the failover');
    for (const key of callers) await noHang(store.check([{ spec: load, key }]));
    await sleep(1100);
    await store.check([{ spec: load, key: onVictim[0]! }]);
    assert.deepEqual(events, ['up', 'down', 'up']);
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await store.close();
    await cluster.stop();
  }
});

test('full coverage (Redis\'s default): every caller fails fast while the cluster is down, and all work again after the failover', { skip: !available }, async () => {
  const cluster = await startCluster();
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown): void => { unhandled.push(err); };
  process.on('unhandledRejection', onUnhandled);
  const store = new RedisStore({ nodes: cluster.nodes.slice(0, 3), prefix, timeoutMs: 250 });
  try {
    const load = slow(`load-${randomBytes(3).toString('hex')}`, 100_000);
    const callers = Array.from({ length: 30 }, (_, i) => `client:k${i}`);
    const messages = new Set<string>();
    const round = (): Promise<unknown[]> => Promise.all(callers.map((key) => noHang(store.check([{ spec: load, key }])).then(() => undefined, (err: unknown) => {
      messages.add(String(err));
      return err;
    })));
    assert.deepEqual(await round(), callers.map(() => undefined));
    const [victim] = await cluster.masters();
    let failed = 0;
    await cluster.failOver(victim!, async () => {
      for (const err of await round()) {
        if (err === undefined) continue;
        assert.ok(err instanceof StoreUnavailableError, String(err));
        failed++;
      }
    });
    assert.ok(failed > 0, 'the outage was seen');
    // Back: within a bounded wait, a whole round succeeds (scripts load again on every master, the promoted one too).
    const deadline = Date.now() + 15_000;
    let errors = await round();
    while (errors.some((e) => e !== undefined) && Date.now() < deadline) {
      await sleep(100);
      errors = await round();
    }
    assert.deepEqual(errors.filter((e) => e !== undefined).map(String), []);
    // A script whose EVAL met CLUSTERDOWN is resent, not answered NOSCRIPT (an ioredis pipeline-retry gap).
    assert.deepEqual([...messages].filter((m) => m.includes('NOSCRIPT')), []);
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await store.close();
    await cluster.stop();
  }
});
