import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestRecord } from '../../src/observe/events.js';
import { percentile, StatsCollector, summarize, LATENCY_BOUNDS_MS, WINDOW_SECONDS } from '../../src/admin/dashboard/stats.js';
import { AuditTail, filterAudit } from '../../src/admin/dashboard/audit-tail.js';

const record = (over: Partial<RequestRecord>): RequestRecord => ({
  time: Date.now(), requestId: 'r', traceparent: 't', method: 'GET', path: '/x', query: '', host: 'h', clientAddress: '10.0.0.1',
  authn: { result: 'public' }, status: 200, bytesIn: 0, bytesOut: 0, durationMs: 1, ...over,
});

test('callers are a bounded summary that keeps the heavy hitters', () => {
  const stats = new StatsCollector(() => 1_000_000);
  for (let i = 0; i < 5000; i++) stats.add(record({ clientAddress: `10.1.${i >> 8}.${i & 255}` }));
  for (let i = 0; i < 300; i++) stats.add(record({ clientAddress: '192.0.2.7' }));
  const [second] = stats.export();
  assert.ok(second!.callers.length <= 32, `kept ${second!.callers.length} callers`);
  const top = (summarize([stats.export()], 1_000_000).callers as { caller: string; requests: number }[])[0]!;
  assert.equal(top.caller, 'addr:192.0.2.7');
  assert.ok(top.requests >= 300);
});

test('the window forgets seconds older than five minutes and keeps one bucket per second', () => {
  let now = 1_000_000_000;
  const stats = new StatsCollector(() => now);
  stats.add(record({ status: 401, error: 'token_missing' }));
  now += 10_000;
  stats.add(record({}));
  let s = summarize([stats.export()], now) as { totals: { requests: number; refused: number }; series: unknown[] };
  assert.deepEqual([s.totals.requests, s.totals.refused, s.series.length], [2, 1, WINDOW_SECONDS]);
  now += (WINDOW_SECONDS - 5) * 1000;
  s = summarize([stats.export()], now) as typeof s;
  assert.deepEqual([s.totals.requests, s.totals.refused], [1, 0]);
});

test('percentiles come from the latency histogram, merged across processes', () => {
  const a = new StatsCollector(() => 5_000);
  const b = new StatsCollector(() => 5_000);
  for (let i = 0; i < 98; i++) a.add(record({ durationMs: 2 }));
  for (let i = 0; i < 2; i++) b.add(record({ durationMs: 400 }));
  const s = summarize([a.export(), b.export()], 5_000) as { totals: { requests: number; p50: number; p99: number } };
  assert.deepEqual(s.totals, { requests: 100, refused: 0, p50: 2, p99: 500 });
  assert.equal(percentile(new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0), 0.5), null);
});

test('the audit tail keeps the last records only and filters them', () => {
  const tail = new AuditTail(3);
  for (const [i, route] of ['a', 'b', 'a', 'b'].entries()) tail.add(record({ time: 1000 + i, route, requestId: `r${i}`, ...(route === 'b' ? { status: 403, error: 'no_rule_matched' } : {}) }));
  assert.deepEqual(tail.rows().map((r) => r.request_id), ['r1', 'r2', 'r3']);
  assert.deepEqual(filterAudit(tail.rows(), { route: 'b' }).map((r) => r.request_id), ['r3', 'r1']);
  assert.deepEqual(filterAudit(tail.rows(), { decision: 'allow' }).map((r) => r.request_id), ['r2']);
  assert.deepEqual(filterAudit(tail.rows(), { code: 'no_rule_matched', route: 'a' }), []);
});
