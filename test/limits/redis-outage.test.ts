import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisStore } from '../../src/limits/redis-store.js';
import { StoreUnavailableError, type LimitCheck } from '../../src/limits/store.js';
import { startRedis } from '../harness/redis.js';
import { redisServerAvailable } from './redis-env.js';

const available = redisServerAvailable();
const check: LimitCheck = { spec: { kind: 'rate', id: 'outage', count: 1000, periodMs: 1000, burst: 1000 }, key: 'k' };

/** Fails instead of hanging: a generous guard, not a measure of speed. */
function noHang<T>(p: Promise<T>): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('check() hung')), 5000).unref())]);
}

test('Redis stopped and restarted: fail fast, report down once, reconnect by itself, report up', { skip: !available }, async () => {
  const redis = await startRedis();
  const events: string[] = [];
  const store = new RedisStore({ url: redis.url, onStateChange: (state) => events.push(state) });
  try {
    assert.equal((await store.check([check]))[0]!.allowed, true);
    assert.equal(store.connected, true);
    assert.deepEqual(events, ['up']);

    await redis.stop();
    for (let i = 0; i < 30; i++) await assert.rejects(noHang(store.check([check])), StoreUnavailableError);
    assert.equal(store.connected, false);
    // The close event may trail the first refusals by a few ticks; then come reconnect attempts.
    await sleep(500);
    for (let i = 0; i < 30; i++) await assert.rejects(noHang(store.check([check])), StoreUnavailableError);
    assert.deepEqual(events, ['up', 'down'], 'one down per outage, not per failed check or reconnect attempt');
    const other = new RedisStore({ url: redis.url });
    await sleep(150); // between reconnect attempts: no socket at all
    await noHang(other.close());

    await redis.restart();
    let back = false;
    for (let i = 0; i < 150 && !back; i++) {
      back = await store.check([check]).then(() => true, () => false);
      if (!back) await sleep(100);
    }
    assert.ok(back, 'the store reconnected by itself');
    assert.equal(store.connected, true);
    assert.deepEqual(events, ['up', 'down', 'up']);
  } finally {
    await store.close();
    await redis.stop();
  }
});

test('a store that starts while Redis is down connects when it comes up', { skip: !available }, async () => {
  const redis = await startRedis();
  await redis.stop();
  const events: string[] = [];
  const store = new RedisStore({ url: redis.url, onStateChange: (state) => events.push(state) });
  try {
    await assert.rejects(noHang(store.check([check])), StoreUnavailableError);
    await redis.restart();
    let back = false;
    for (let i = 0; i < 150 && !back; i++) {
      back = await store.check([check]).then(() => true, () => false);
      if (!back) await sleep(100);
    }
    assert.ok(back);
    assert.deepEqual(events, ['down', 'up']);
  } finally {
    await store.close();
    await redis.stop();
  }
});
