import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { monthStart, nextMonthStart, quotaDecide, windowEnd, windowStart } from '../../src/limits/quota.js';
import { MONTH_LUA } from '../../src/limits/redis-scripts.js';
import { REDIS_URL, redisAvailable } from './redis-env.js';

const available = await redisAvailable();
const DAY = 86_400_000;
const at = (iso: string): number => Date.parse(iso);

describe('quota windows (JS)', () => {
  it('fixed windows align to UTC multiples since the epoch', () => {
    const now = at('2026-02-15T13:45:10.500Z');
    assert.equal(windowStart({ kind: 'fixed', ms: DAY }, now), at('2026-02-15T00:00:00Z'));
    assert.equal(windowEnd({ kind: 'fixed', ms: DAY }, windowStart({ kind: 'fixed', ms: DAY }, now)), at('2026-02-16T00:00:00Z'));
    assert.equal(windowStart({ kind: 'fixed', ms: 3_600_000 }, now), at('2026-02-15T13:00:00Z'));
    assert.equal(windowStart({ kind: 'fixed', ms: 60_000 }, now), at('2026-02-15T13:45:00Z'));
  });

  it('month windows are calendar months in UTC', () => {
    const start = windowStart({ kind: 'month' }, at('2026-02-15T12:00:00Z'));
    assert.equal(start, at('2026-02-01T00:00:00Z'));
    assert.equal(windowEnd({ kind: 'month' }, start), at('2026-03-01T00:00:00Z'));
    assert.equal(nextMonthStart(monthStart(at('2025-12-31T23:59:59.999Z'))), at('2026-01-01T00:00:00Z'));
    assert.equal(nextMonthStart(monthStart(at('2024-02-10T00:00:00Z'))), at('2024-03-01T00:00:00Z'));
  });

  it('decides on the count before this request; refusals report the window end', () => {
    assert.deepEqual(quotaDecide(0, 2, 1000, 400), { allowed: true, limit: 2, remaining: 1, resetMs: 600, retryAfterMs: 0 });
    assert.deepEqual(quotaDecide(2, 2, 1000, 400), { allowed: false, limit: 2, remaining: 0, resetMs: 600, retryAfterMs: 600 });
  });
});

/** Instants around month ends over several years, leap Februaries and Dec→Jan included. */
function samples(): number[] {
  const out = [0, at('1999-12-31T23:59:59.999Z'), at('2000-02-29T12:00:00Z'), at('2100-02-28T23:59:59.999Z'), at('2400-02-29T00:00:00Z')];
  for (let y = 2023; y <= 2029; y++) {
    for (let m = 0; m < 12; m++) {
      const start = Date.UTC(y, m, 1);
      out.push(start, start + 1, start - 1, start + 14 * DAY + 12_345);
    }
  }
  return out;
}

describe('month window in the Redis Lua script', { skip: !available }, () => {
  it('matches Date.UTC for every sample', async () => {
    const client = new Redis(REDIS_URL);
    const probe = `${MONTH_LUA}\nlocal s, e = month_bounds(tonumber(ARGV[1]))\nreturn {s, e}`;
    try {
      const pipeline = client.pipeline();
      const instants = samples();
      for (const now of instants) pipeline.eval(probe, 0, String(now));
      const replies = (await pipeline.exec()) ?? [];
      instants.forEach((now, i) => {
        const [err, bounds] = replies[i]!;
        assert.equal(err, null);
        const start = monthStart(now);
        assert.deepEqual(bounds, [start, nextMonthStart(start)], new Date(now).toISOString());
      });
    } finally {
      client.disconnect();
    }
  });
});
