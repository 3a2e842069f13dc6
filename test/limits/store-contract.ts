import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { monthStart, nextMonthStart } from '../../src/limits/quota.js';
import type { LimitCheck, LimitResult, LimitStore, QuotaSpec, RateSpec } from '../../src/limits/store.js';

let seq = 0;
/** A spec id unique to this run, so suites and reruns never share state. */
const uid = (name: string): string => `${name}-${randomBytes(3).toString('hex')}-${seq++}`;
const rate = (count: number, periodMs: number, burst: number): RateSpec => ({ kind: 'rate', id: uid('rate'), count, periodMs, burst });
const fixed = (count: number, ms: number): QuotaSpec => ({ kind: 'quota', id: uid('quota'), count, window: { kind: 'fixed', ms } });

async function one(store: LimitStore, check: LimitCheck): Promise<LimitResult> {
  const [r] = await store.check([check]);
  return r!;
}

async function countAllowed(store: LimitStore, check: LimitCheck, n: number): Promise<number> {
  let allowed = 0;
  for (let i = 0; i < n; i++) if ((await one(store, check)).allowed) allowed++;
  return allowed;
}

/** Sleeps until just after the next boundary of `ms`-aligned windows, so a short test stays in one window. */
async function alignToWindow(ms: number): Promise<void> {
  await sleep(ms - (Date.now() % ms) + 50);
}

/** The shared LimitStore spec: every implementation must pass it unchanged. */
export function runStoreContract(name: string, makeStore: () => LimitStore | Promise<LimitStore>, enabled = true): void {
  describe(`LimitStore contract: ${name}`, { skip: !enabled }, () => {
    let store: LimitStore;
    before(async () => { store = await makeStore(); });
    after(async () => { await store.close(); });

    it('a full bucket allows `burst` at once, then refuses with sane retry and reset', async () => {
      const check = { spec: rate(10, 60_000, 5), key: 'client:a' }; // T = 6 s: no refill during the test
      const first: LimitResult[] = [];
      for (let i = 0; i < 5; i++) first.push(await one(store, check));
      assert.deepEqual(first.map((r) => [r.allowed, r.limit, r.remaining, r.retryAfterMs]), [4, 3, 2, 1, 0].map((n) => [true, 5, n, 0]));
      assert.ok(first[0]!.resetMs > 5000 && first[0]!.resetMs <= 6000, `one used: full again in ~T (${first[0]!.resetMs})`);
      assert.ok(first[4]!.resetMs > 29_000 && first[4]!.resetMs <= 30_000, `all used: full in ~5T (${first[4]!.resetMs})`);
      const refused = await one(store, check);
      assert.equal(refused.allowed, false);
      assert.equal(refused.remaining, 0);
      assert.ok(refused.retryAfterMs > 5000 && refused.retryAfterMs <= 6000, `retry after ~T (${refused.retryAfterMs})`);
      assert.ok(refused.resetMs > 29_000 && refused.resetMs <= 30_000, `reset ~5T (${refused.resetMs})`);
      // Refusals do not consume: the wait stays ~T however often the caller retries.
      for (let i = 0; i < 10; i++) await one(store, check);
      assert.ok((await one(store, check)).retryAfterMs <= 6000);
    });

    it('refills at the steady rate', async () => {
      const check = { spec: rate(10, 1000, 10), key: 'client:b' }; // one token per 100 ms
      // Expected counts come from measured times, so a loaded machine widens them instead of failing.
      const drainStart = Date.now();
      const drained = await countAllowed(store, check, 12);
      const drainedAt = Date.now();
      assert.ok(drained >= 10 && drained <= 10 + Math.ceil((drainedAt - drainStart) / 100), `drained ${drained}`);
      await sleep(400);
      const refillStart = Date.now();
      const refilled = await countAllowed(store, check, 10);
      const low = Math.floor((refillStart - drainedAt) / 100) - 1;
      const high = Math.ceil((Date.now() - drainStart) / 100) + 1;
      assert.ok(refilled >= Math.min(low, 10) && refilled <= high, `${refilled} tokens back, expected ${low}..${high}`);
    });

    it('keys are independent: a noisy key does not throttle another', async () => {
      const spec = rate(1, 60_000, 3);
      assert.equal(await countAllowed(store, { spec, key: 'ip:198.51.100.1' }, 20), 3);
      assert.equal(await countAllowed(store, { spec, key: 'ip:198.51.100.2' }, 3), 3);
      const other = { ...spec, id: uid('rate') };
      assert.equal(await countAllowed(store, { spec: other, key: 'ip:198.51.100.1' }, 3), 3, 'another limit, same caller');
    });

    it('a quota counts, refuses at the limit without consuming, and resets at the window boundary', async () => {
      const windowMs = 1500;
      const check = { spec: fixed(3, windowMs), key: 'client:q' };
      await alignToWindow(windowMs);
      const results: LimitResult[] = [];
      for (let i = 0; i < 6; i++) results.push(await one(store, check));
      assert.deepEqual(results.map((r) => [r.allowed, r.limit, r.remaining]), [[true, 3, 2], [true, 3, 1], [true, 3, 0], [false, 3, 0], [false, 3, 0], [false, 3, 0]]);
      const refused = results[5]!;
      assert.ok(refused.resetMs > 0 && refused.resetMs <= windowMs, `reset within the window (${refused.resetMs})`);
      assert.equal(refused.retryAfterMs, refused.resetMs, 'a refused quota request can retry when the window ends');
      assert.equal(results[0]!.retryAfterMs, 0);
      await sleep(refused.resetMs + 100);
      const next = await one(store, check);
      assert.deepEqual([next.allowed, next.remaining], [true, 2], 'a whole new budget: refusals were never counted');
    });

    it('a monthly quota resets at the start of the next UTC month', async () => {
      const spec: QuotaSpec = { kind: 'quota', id: uid('month'), count: 1000, window: { kind: 'month' } };
      const r = await one(store, { spec, key: 'client:m' });
      const expected = nextMonthStart(monthStart(Date.now())) - Date.now();
      assert.deepEqual([r.allowed, r.limit, r.remaining], [true, 1000, 999]);
      assert.ok(Math.abs(r.resetMs - expected) < 5000, `reset ${r.resetMs} vs ${expected}`);
    });

    it('several checks in one call: one result per check, in order, each consuming independently', async () => {
      const a = { spec: rate(1, 60_000, 2), key: 'k' };
      const b = { spec: fixed(1, 3_600_000), key: 'k' };
      const c = { spec: rate(1, 60_000, 4), key: 'k' };
      const rounds: LimitResult[][] = [];
      for (let i = 0; i < 3; i++) rounds.push(await store.check([a, b, c]));
      assert.deepEqual(rounds.map((rs) => rs.map((r) => r.limit)), [[2, 1, 4], [2, 1, 4], [2, 1, 4]]);
      assert.deepEqual(rounds.map((rs) => rs.map((r) => r.allowed)), [[true, true, true], [true, false, true], [false, false, true]]);
      assert.deepEqual(rounds.map((rs) => rs[2]!.remaining), [3, 2, 1], 'c consumed even when a and b refused');
      assert.deepEqual(await store.check([]), []);
    });

    it('holds the steady rate: driven at 2x for 3 s, accepts burst + rate x 3 s (±5%)', async () => {
      // The burst holds 0.8 s of tokens, so event-loop stalls shorter than that lose none.
      const burst = 40;
      const perSecond = 50;
      const check = { spec: rate(perSecond, 1000, burst), key: 'client:precise' };
      let accepted = 0;
      let sent = 0;
      const start = Date.now();
      let last = start;
      for (let elapsed = 0; elapsed < 3000; elapsed = Date.now() - start) {
        // Catch up to twice the rate after any stall, then yield.
        while (sent < burst + (2 * perSecond * elapsed) / 1000) {
          last = Date.now();
          if ((await one(store, check)).allowed) accepted++;
          sent++;
        }
        await sleep(5);
      }
      const expected = burst + (perSecond * (last - start)) / 1000; // ≈ 190 when the loop runs on time
      const tolerance = 0.05 * (burst + perSecond * 3);
      assert.ok(Math.abs(accepted - expected) <= tolerance, `accepted ${accepted} of ${sent}, expected ${expected.toFixed(1)} ± ${tolerance}`);
    });
  });
}
