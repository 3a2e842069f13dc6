import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { rawRequest } from '../harness/http.js';
import { hammer, trickle } from '../harness/load.js';

// Throttling through a real gateway with the in-memory store (the Redis suite is limits-redis.test.ts).
let upstream: TestUpstream;
let gw: TestGateway;
const tokens: Record<string, string> = {};
const auth = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });

/** Quota windows are calendar-aligned: start a test well inside a window so exact counts hold. */
async function awayFromBoundary(windowMs: number, marginMs: number): Promise<void> {
  const left = windowMs - (Date.now() % windowMs);
  if (left < marginMs) await new Promise((r) => setTimeout(r, left + 20));
}

before(async () => {
  upstream = await startUpstream((req, res) => {
    if (req.url?.startsWith('/slow')) setTimeout(() => res.writeHead(200).end('slow'), 800);
    else res.writeHead(200).end('ok');
  });
  gw = await startGateway({
    dev: true,
    plans: {
      gold: { assign: [{ roles: ['gold'] }], limits: [{ name: 'gold-quota', key: ['subject'], quota: '3/20s' }] },
      free: { default: true, limits: [{ name: 'free-quota', key: ['subject'], quota: '1/20s' }] },
    },
    routes: [
      { name: 'rate', match: { path: '/rate/*' }, authenticate: ['dev'], limits: [{ name: 'per-client', key: ['subject'], rate: '50/s', burst: 100 }], upstream: { url: upstream.url } },
      { name: 'quota', match: { path: '/quota/*' }, authenticate: ['dev'], rateLimitHeaders: true, limits: [{ name: 'short', key: ['subject'], quota: '5/2s' }], upstream: { url: upstream.url } },
      { name: 'slow', match: { path: '/slow/*' }, public: true, concurrency: 2, upstream: { url: upstream.url } },
      { name: 'plan-a', match: { path: '/plan-a/*' }, authenticate: ['dev'], plan: true, upstream: { url: upstream.url } },
      { name: 'plan-b', match: { path: '/plan-b/*' }, authenticate: ['dev'], plan: true, upstream: { url: upstream.url } },
    ],
  });
  const dev = gw.gateway.ref.current.devIssuer!;
  for (const who of ['noisy', 'quiet', 'q', 'h', 'free']) tokens[who] = await dev.sign({ sub: who, roles: ['reader'] });
  tokens.gold = await dev.sign({ sub: 'goldie', roles: ['gold'] });
});
after(async () => { await gw.stop(); await upstream.close(); });

test('rate 50/s with burst 100 over 10 s: accepted within ±5% of 600, and a noisy caller does not throttle another', async () => {
  const [noisy, quiet] = await Promise.all([
    hammer(gw.url, '/rate/x', auth('noisy'), 10_000, 8),
    trickle(gw.url, '/rate/x', auth('quiet'), 10_000, 100),
  ]);
  const accepted = noisy.get(200) ?? 0;
  // burst + rate × the time the load actually ran (≈ 600 for 10 s; measured, so a slow machine is fair).
  const expected = 100 + 50 * (noisy.elapsedMs! / 1000);
  assert.ok(Math.abs(accepted - expected) <= expected * 0.05, `accepted ${accepted} of ${[...noisy.values()].reduce((a, b) => a + b, 0)} (want ${expected.toFixed(0)} ± 5%)`);
  assert.ok((noisy.get(429) ?? 0) > 0, 'the noisy caller was throttled');
  assert.equal(quiet.get(429) ?? 0, 0, 'the quiet caller was never throttled');
  assert.ok((quiet.get(200) ?? 0) > 50);
});

test('429 carries Retry-After, RateLimit-Policy, RateLimit and a problem body; audit and metrics count it', async () => {
  let res = await rawRequest(gw.url, 'GET', '/rate/x', auth('noisy'));
  for (let i = 0; i < 200 && res.status !== 429; i++) res = await rawRequest(gw.url, 'GET', '/rate/x', auth('noisy'));
  assert.equal(res.status, 429);
  assert.equal(res.json().code, 'rate_limited');
  assert.match(res.headers['retry-after'] as string, /^[1-9]\d*$/);
  assert.equal(res.headers['ratelimit-policy'], '"per-client";q=100;w=2');
  assert.match(res.headers.ratelimit as string, /^"per-client";r=0;t=\d+$/);
  const line = await gw.auditLine((l) => (l.limit as { result?: string } | null)?.result === 'rate_limited');
  assert.deepEqual(line?.limit, { result: 'rate_limited', name: 'per-client' });
  const metrics = await rawRequest(gw.adminUrl, 'GET', '/metrics');
  assert.match(metrics.body, /gatehouse_limit_decisions_total\{route="rate",limit="per-client",result="rate_limited",fallback="false"\} [1-9]/);
  assert.match(metrics.body, /gatehouse_requests_total\{route="rate",status="429",code="rate_limited"\} [1-9]/);
});

test('quota: refused at the limit with quota_exhausted, budget headers on success, reset at the period boundary', async () => {
  await awayFromBoundary(2000, 1200);
  const statuses: number[] = [];
  let first;
  let last;
  for (let i = 0; i < 7; i++) {
    last = await rawRequest(gw.url, 'GET', '/quota/x', auth('q'));
    first ??= last;
    statuses.push(last.status);
  }
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429]);
  assert.equal(last!.json().code, 'quota_exhausted');
  assert.match(last!.headers['retry-after'] as string, /^[12]$/);
  assert.equal(first!.headers['ratelimit-policy'], '"short";q=5;w=2');
  assert.match(first!.headers.ratelimit as string, /^"short";r=\d;t=[0-2]$/);
  const boundary = 2000 - (Date.now() % 2000);
  await new Promise((r) => setTimeout(r, boundary + 50));
  assert.equal((await rawRequest(gw.url, 'GET', '/quota/x', auth('q'))).status, 200, 'a new window has a new budget');
});

test('concurrency cap: with 2 slow requests in flight the third gets 503 at once, with Retry-After', async () => {
  const slow = [rawRequest(gw.url, 'GET', '/slow/1'), rawRequest(gw.url, 'GET', '/slow/2')];
  while (upstream.seen.filter((s) => s.url.startsWith('/slow/')).length < 2) await new Promise((r) => setTimeout(r, 10));
  let slowDone = false;
  void Promise.all(slow).then(() => { slowDone = true; });
  const third = await rawRequest(gw.url, 'GET', '/slow/3');
  assert.equal(slowDone, false, 'the refusal did not wait for the slow requests');
  assert.equal(third.status, 503);
  assert.equal(third.json().code, 'concurrency_limited');
  assert.equal(third.headers['retry-after'], '1');
  for (const r of await Promise.all(slow)) assert.equal(r.status, 200);
  assert.equal((await rawRequest(gw.url, 'GET', '/slow/4')).status, 200, 'slots are released');
});

test('plans: identities get their plan limits, shared across routes with plan: true', async () => {
  await awayFromBoundary(20_000, 3000);
  const gold: number[] = [];
  for (const path of ['/plan-a/1', '/plan-b/1', '/plan-a/2', '/plan-b/2']) gold.push((await rawRequest(gw.url, 'GET', path, auth('gold'))).status);
  const free: number[] = [];
  for (const path of ['/plan-a/1', '/plan-b/1']) free.push((await rawRequest(gw.url, 'GET', path, auth('free'))).status);
  assert.deepEqual(gold, [200, 200, 200, 429], 'gold: 3 per window across both routes');
  assert.deepEqual(free, [200, 429], 'free (default plan): 1 per window');
  const refused = await rawRequest(gw.url, 'GET', '/plan-b/3', auth('free'));
  assert.equal(refused.json().code, 'quota_exhausted');
  assert.equal(refused.headers['ratelimit-policy'], '"free-quota";q=1;w=20');
  const line = await gw.auditLine((l) => (l.limit as { plan?: string } | null)?.plan === 'gold');
  assert.ok(line, 'the plan is in the audit line');
});
