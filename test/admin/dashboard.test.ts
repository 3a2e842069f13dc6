import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rawRequest, type RawResponse } from '../harness/http.js';
import { DASHBOARD_TOKEN, startDashboardGateway, traffic, type DashboardFixture } from '../harness/dashboard.js';

// The dashboard's HTTP surface without a browser: who gets in, what each API reports.
let f: DashboardFixture;
let admin: string;
const bearer = { authorization: `Bearer ${DASHBOARD_TOKEN}` };

before(async () => {
  f = await startDashboardGateway();
  admin = f.gw.adminUrl;
});
after(async () => { await f.stop(); });

const get = (path: string, headers: Record<string, string> = {}): Promise<RawResponse> => rawRequest(admin, 'GET', path, headers);
const post = (path: string, headers: Record<string, string>, body: string): Promise<RawResponse> =>
  rawRequest(admin, 'POST', path, { 'content-length': String(Buffer.byteLength(body)), ...headers }, body);

async function login(token: string, origin = admin): Promise<RawResponse> {
  return post('/dashboard/login', { 'content-type': 'application/x-www-form-urlencoded', origin }, new URLSearchParams({ token }).toString());
}

/** Login attempts are limited per second: start a test's logins at the start of a fresh second. */
const nextSecond = (): Promise<void> => new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));

const PAGES = ['/dashboard', '/dashboard/', '/dashboard/anything'];
const APIS = ['/dashboard/api/stats', '/dashboard/api/routes', '/dashboard/api/providers', '/dashboard/api/audit'];

test('without a session or token every page redirects to the login page and every API answers 401', async () => {
  for (const path of PAGES) {
    const r = await get(path);
    assert.equal(r.status, 303, path);
    assert.equal(r.headers.location, '/dashboard/login', path);
  }
  for (const path of [...APIS, '/dashboard/api/nope']) {
    const r = await get(path);
    assert.equal(r.status, 401, path);
    assert.match(String(r.headers['www-authenticate']), /^Bearer /);
    assert.equal(r.headers['cache-control'], 'no-store');
  }
  const sim = await post('/dashboard/api/simulate', { 'content-type': 'application/json' }, '{"path":"/orders/1"}');
  assert.equal(sim.status, 401);
});

test('a wrong bearer token or a forged session cookie is refused', async () => {
  for (const path of APIS) assert.equal((await get(path, { authorization: 'Bearer not-the-token-at-all' })).status, 401, path);
  assert.equal((await get('/dashboard/api/stats', { cookie: 'gatehouse_dashboard=forged' })).status, 401);
  assert.equal((await get('/dashboard', { cookie: 'gatehouse_dashboard=forged' })).status, 303);
});

test('the bearer token opens every API', async () => {
  for (const path of APIS) {
    const r = await get(path, bearer);
    assert.equal(r.status, 200, path);
    assert.equal(r.headers['cache-control'], 'no-store');
  }
});

test('the login page logs in with the right token only, and sets a strict session cookie', async () => {
  const page = await get('/dashboard/login');
  assert.equal(page.status, 200);
  assert.match(page.body, /<form method="post" action="\/dashboard\/login"/);
  assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
  assert.doesNotMatch(String(page.headers['content-security-policy']), /unsafe-inline/);
  assert.equal(page.headers['x-frame-options'], 'DENY');
  assert.equal(page.headers['referrer-policy'], 'no-referrer');

  await nextSecond();
  const wrong = await login('wrong-token-wrong-token');
  assert.equal(wrong.status, 401);
  assert.match(wrong.body, /Wrong token/);
  assert.equal(wrong.headers['set-cookie'], undefined);

  const right = await login(DASHBOARD_TOKEN);
  assert.equal(right.status, 303);
  assert.equal(right.headers.location, '/dashboard');
  const cookie = right.headers['set-cookie']![0]!;
  assert.match(cookie, /^gatehouse_dashboard=[A-Za-z0-9_-]{43};/);
  for (const attr of ['HttpOnly', 'SameSite=Strict', 'Path=/dashboard']) assert.ok(cookie.includes(attr), attr);
  assert.ok(!cookie.includes('Secure'), 'no Secure attribute on a plain-HTTP admin listener');
  const session = cookie.split(';')[0]!;
  const home = await get('/dashboard', { cookie: session });
  assert.equal(home.status, 200);
  assert.match(home.body, /<script type="module" src="\/dashboard\/dashboard.js">/);
  assert.doesNotMatch(home.body, /<script>/);
  assert.equal((await get('/dashboard/api/stats', { cookie: session })).status, 200);

  const out = await post('/dashboard/logout', { cookie: session, origin: admin }, '');
  assert.equal(out.status, 303);
  assert.equal((await get('/dashboard/api/stats', { cookie: session })).status, 401);
});

test('a login from another origin, or without one, is refused before the token is looked at', async () => {
  assert.equal((await login(DASHBOARD_TOKEN, 'http://evil.example')).status, 403);
  // What a sandboxed frame of any site sends.
  assert.equal((await login(DASHBOARD_TOKEN, 'null')).status, 403);
  const none = await post('/dashboard/login', { 'content-type': 'application/x-www-form-urlencoded' }, `token=${DASHBOARD_TOKEN}`);
  assert.equal(none.status, 403);
  assert.equal(none.headers['set-cookie'], undefined);
});

test('login attempts are rate-limited', async () => {
  await nextSecond();
  const statuses = await Promise.all(Array.from({ length: 8 }, () => login('wrong-token-wrong-token').then((r) => r.status)));
  assert.ok(statuses.includes(429), statuses.join());
  assert.ok(statuses.filter((s) => s === 401).length <= 5, statuses.join());
});

test('a cross-origin POST to the simulator is refused, even with a valid session', async () => {
  await nextSecond();
  const session = (await login(DASHBOARD_TOKEN)).headers['set-cookie']![0]!.split(';')[0]!;
  const body = JSON.stringify({ method: 'GET', path: '/orders/1' });
  const cross = await post('/dashboard/api/simulate', { cookie: session, origin: 'http://evil.example', 'content-type': 'application/json' }, body);
  assert.equal(cross.status, 403);
  // A session without any Origin (not a browser) is refused too; the bearer token alone may omit it.
  assert.equal((await post('/dashboard/api/simulate', { cookie: session, 'content-type': 'application/json' }, body)).status, 403);
  assert.equal((await post('/dashboard/api/simulate', { cookie: session, origin: admin, 'content-type': 'application/json' }, body)).status, 200);
  assert.equal((await post('/dashboard/api/simulate', { ...bearer, 'content-type': 'application/json' }, body)).status, 200);
});

test('the public port does not serve the dashboard', async () => {
  for (const path of ['/dashboard', '/dashboard/login', '/dashboard/api/stats', '/dashboard/dashboard.js']) {
    const r = await rawRequest(f.gw.url, 'GET', path, bearer);
    assert.equal(r.status, 404, path);
    assert.doesNotMatch(r.body, /Gatehouse dashboard/);
  }
});

test('stats count requests, refusals by code and status, routes, callers and limits', async () => {
  await traffic(f, 'allowed', 3);
  await traffic(f, 'unauthenticated', 2);
  await traffic(f, 'forbidden', 1);
  await traffic(f, 'public', 1);
  const s = (await get('/dashboard/api/stats', bearer)).json<Record<string, unknown>>();
  const totals = s.totals as { requests: number; refused: number; p50: number };
  assert.ok(totals.requests >= 7, JSON.stringify(totals));
  assert.ok(totals.refused >= 3);
  assert.ok(totals.p50 > 0);
  const codes = Object.fromEntries((s.byCode as { code: string; count: number }[]).map((c) => [c.code, c.count]));
  assert.ok(codes.token_missing! >= 2, JSON.stringify(codes));
  assert.ok(codes.no_rule_matched! >= 1, JSON.stringify(codes));
  const statuses = Object.fromEntries((s.byStatus as { status: number; count: number }[]).map((c) => [c.status, c.count]));
  assert.ok(statuses[401]! >= 2 && statuses[403]! >= 1 && statuses[200]! >= 4, JSON.stringify(statuses));
  const orders = (s.routes as { route: string; requests: number; lastUpstreamStatus: number }[]).find((r) => r.route === 'orders')!;
  assert.ok(orders.requests >= 6);
  assert.equal(orders.lastUpstreamStatus, 200);
  const alice = (s.callers as { caller: string; requests: number }[]).find((c) => c.caller === 'dev:alice');
  assert.ok(alice && alice.requests >= 3, JSON.stringify(s.callers));
  const limit = (s.limits as { route: string; limit: string | null; allowed: number }[]).find((l) => l.route === 'orders' && l.limit === null);
  assert.ok(limit && limit.allowed >= 3, JSON.stringify(s.limits));
  const series = s.series as { requests: number }[];
  assert.equal(series.length, 300);
  assert.ok(series.reduce((a, b) => a + b.requests, 0) >= 7);
});

test('routes and providers show what the runtime holds', async () => {
  const { routes } = (await get('/dashboard/api/routes', bearer)).json<{ routes: Record<string, unknown>[] }>();
  const orders = routes.find((r) => r.name === 'orders')!;
  assert.deepEqual(orders.authenticate, ['dev']);
  assert.deepEqual(orders.match, { path: '/orders/*', host: null, methods: null });
  assert.deepEqual(orders.allow, [{ name: 'readers', roles: ['reader'] }]);
  assert.match((orders.upstream as { label: string }).label, new RegExp(String(f.upstream.port)));
  assert.equal(routes.find((r) => r.name === 'open')!.public, true);
  const { providers } = (await get('/dashboard/api/providers', bearer)).json<{ providers: Record<string, unknown>[] }>();
  const dev = providers.find((p) => p.name === 'dev')!;
  assert.equal(dev.type, 'dev');
  assert.equal(dev.ready, true);
  assert.equal((dev.keyIds as string[]).length, 1);
});

interface Simulated {
  request: { minted: boolean };
  result: { outcome: string; rule?: string; code?: string; status?: number };
  identity: { subject: string } | null;
  rules: { rule: string; matched: boolean }[];
}

test('the simulator answers with explain\'s decision and rule outcomes', async () => {
  const sim = async (body: unknown): Promise<RawResponse> => post('/dashboard/api/simulate', { ...bearer, 'content-type': 'application/json' }, JSON.stringify(body));
  const allowed = (await sim({ method: 'GET', path: '/orders/1', token: f.tokens.reader })).json<Simulated>();
  assert.equal(allowed.result.outcome, 'forward');
  assert.equal(allowed.result.rule, 'readers');
  assert.equal(allowed.identity?.subject, 'alice');
  assert.deepEqual(allowed.rules.map((r) => [r.rule, r.matched]), [['no-mallory', false], ['readers', true]]);
  const denied = (await sim({ method: 'GET', path: '/orders/1', claims: { sub: 'mallory', roles: ['reader'] } })).json<Simulated>();
  assert.equal(denied.result.outcome, 'refuse');
  assert.equal(denied.result.code, 'denied_by_rule');
  assert.equal(denied.result.status, 403);
  assert.equal(denied.request.minted, true);
  const none = (await sim({ method: 'GET', path: '/orders/1' })).json<Simulated>();
  assert.equal(none.result.code, 'token_missing');
  const bad = await sim({ method: 'GET', path: 'no-slash' });
  assert.equal(bad.status, 400);
  assert.equal((await post('/dashboard/api/simulate', { ...bearer, 'content-type': 'application/json' }, '{not json')).status, 400);
});

test('the audit tail filters by route, decision, subject and code', async () => {
  await traffic(f, 'allowed', 2);
  await traffic(f, 'public', 2);
  await traffic(f, 'denied', 1);
  const rows = async (q: string): Promise<Record<string, unknown>[]> => (await get(`/dashboard/api/audit?${q}`, bearer)).json<{ rows: Record<string, unknown>[] }>().rows;
  const open = await rows('route=open');
  assert.ok(open.length >= 2);
  assert.ok(open.every((r) => r.route === 'open'));
  const deny = await rows('decision=deny');
  assert.ok(deny.length >= 1 && deny.every((r) => r.decision === 'deny' && r.error !== null));
  const mallory = await rows('subject=mallory&code=denied_by_rule');
  assert.equal(mallory.length, 1);
  assert.equal(mallory[0]!.rule, 'no-mallory');
  assert.equal(mallory[0]!.status, 403);
  const all = await rows('');
  assert.ok(all.length >= 5);
  assert.ok(String(all[0]!.time) >= String(all.at(-1)!.time), 'newest first');
  assert.equal(JSON.stringify(all).includes(f.tokens.reader), false, 'no token in the tail');
});
