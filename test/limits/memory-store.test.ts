import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryStore } from '../../src/limits/memory-store.js';
import type { LimitResult, QuotaSpec, RateSpec } from '../../src/limits/store.js';
import { runStoreContract } from './store-contract.js';

runStoreContract('memory', () => new MemoryStore());

/** A store on a hand-driven clock, for exact arithmetic. */
function clocked(opts: { maxKeys?: number; sweepEveryMs?: number } = {}): { store: MemoryStore; clock: { now: number } } {
  const clock = { now: Date.UTC(2026, 0, 1) };
  return { store: new MemoryStore({ ...opts, now: () => clock.now }), clock };
}

const rate = (count: number, periodMs: number, burst: number, id = 'r'): RateSpec => ({ kind: 'rate', id, count, periodMs, burst });

async function one(store: MemoryStore, spec: RateSpec | QuotaSpec, key = 'k'): Promise<LimitResult> {
  return (await store.check([{ spec, key }]))[0]!;
}

describe('MemoryStore on a fixed clock', () => {
  it('GCRA: 50/s with burst 100 lets a saturating caller through ~600 times in 10 s', async () => {
    const { store, clock } = clocked();
    const spec = rate(50, 1000, 100);
    const start = clock.now;
    let accepted = 0;
    for (; clock.now < start + 10_000; clock.now += 1) if ((await one(store, spec)).allowed) accepted++;
    assert.ok(accepted >= 599 && accepted <= 601, `accepted ${accepted}`);
    await store.close();
  });

  it('GCRA numbers: remaining, reset and retry-after follow the theoretical arrival time', async () => {
    const { store, clock } = clocked();
    const spec = rate(10, 1000, 3); // T = 100 ms, capacity 300 ms
    assert.deepEqual(await one(store, spec), { allowed: true, limit: 3, remaining: 2, resetMs: 100, retryAfterMs: 0 });
    assert.deepEqual(await one(store, spec), { allowed: true, limit: 3, remaining: 1, resetMs: 200, retryAfterMs: 0 });
    assert.deepEqual(await one(store, spec), { allowed: true, limit: 3, remaining: 0, resetMs: 300, retryAfterMs: 0 });
    assert.deepEqual(await one(store, spec), { allowed: false, limit: 3, remaining: 0, resetMs: 300, retryAfterMs: 100 });
    clock.now += 99;
    assert.equal((await one(store, spec)).retryAfterMs, 1);
    clock.now += 1;
    assert.deepEqual(await one(store, spec), { allowed: true, limit: 3, remaining: 0, resetMs: 300, retryAfterMs: 0 });
    clock.now += 1000;
    assert.deepEqual(await one(store, spec), { allowed: true, limit: 3, remaining: 2, resetMs: 100, retryAfterMs: 0 }, 'idle: full again');
  });

  it('fractional emission intervals do not drift: 3 per second stays 3 per second', async () => {
    const { store, clock } = clocked();
    const spec = rate(3, 1000, 2);
    let accepted = 0;
    for (let i = 0; i < 60_000; i += 10, clock.now += 10) if ((await one(store, spec)).allowed) accepted++;
    assert.ok(Math.abs(accepted - 182) <= 1, `accepted ${accepted} (burst 2 + 3/s x 60 s)`);
  });

  it('a quota window ends at the aligned boundary and only allowed requests count', async () => {
    const { store, clock } = clocked();
    const spec: QuotaSpec = { kind: 'quota', id: 'q', count: 2, window: { kind: 'fixed', ms: 60_000 } };
    clock.now += 59_000;
    assert.deepEqual(await one(store, spec), { allowed: true, limit: 2, remaining: 1, resetMs: 1000, retryAfterMs: 0 });
    assert.equal((await one(store, spec)).remaining, 0);
    assert.deepEqual(await one(store, spec), { allowed: false, limit: 2, remaining: 0, resetMs: 1000, retryAfterMs: 1000 });
    clock.now += 1000;
    assert.deepEqual(await one(store, spec), { allowed: true, limit: 2, remaining: 1, resetMs: 60_000, retryAfterMs: 0 });
  });

  it('past maxKeys the oldest-inserted key is evicted and starts again with a fresh budget', async () => {
    const { store } = clocked({ maxKeys: 3 });
    const spec = rate(1, 60_000, 1);
    for (const key of ['a', 'b', 'c']) assert.equal((await one(store, spec, key)).allowed, true);
    assert.equal((await one(store, spec, 'a')).allowed, false, 'a is still limited');
    assert.equal((await one(store, spec, 'd')).allowed, true);
    assert.equal(store.size, 3);
    assert.equal((await one(store, spec, 'a')).allowed, true, 'a was evicted (oldest): fresh budget');
    assert.equal((await one(store, spec, 'c')).allowed, false, 'c, inserted later, is kept (b went to make room for a)');
    assert.equal((await one(store, spec, 'd')).allowed, false);
    assert.equal(store.size, 3);
  });

  it('the background sweep drops expired entries of both kinds', async () => {
    const { store, clock } = clocked({ sweepEveryMs: 20 });
    const quota: QuotaSpec = { kind: 'quota', id: 'q', count: 5, window: { kind: 'fixed', ms: 1000 } };
    for (let i = 0; i < 1000; i++) await store.check([{ spec: rate(1, 100, 1), key: `r${i}` }, { spec: quota, key: `q${i}` }]);
    assert.equal(store.size, 2000);
    clock.now += 1000;
    for (let i = 0; i < 50 && store.size > 0; i++) await sleep(20);
    assert.equal(store.size, 0);
    await store.close();
  });

  it('long caller keys are stored hashed: distinct, and small', async () => {
    const { store } = clocked();
    const spec = rate(1, 60_000, 1);
    const long = 'x'.repeat(10_000);
    assert.equal((await one(store, spec, `${long}1`)).allowed, true);
    assert.equal((await one(store, spec, `${long}2`)).allowed, true);
    assert.equal((await one(store, spec, `${long}1`)).allowed, false);
  });
});
