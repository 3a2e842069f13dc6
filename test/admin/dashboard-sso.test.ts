// Signing in to the dashboard with SSO, without a browser: the real OpenID Provider's forms are
// filled by the harness; forged, replayed and cross-browser callbacks, and unsafe return paths, are refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { browse, CookieJar, send } from '../harness/sso.js';
import { startDashboardSso, type DashboardSsoEnv } from '../harness/dashboard-sso.js';

let env: DashboardSsoEnv;
before(async () => { env = await startDashboardSso(); });
after(async () => { await env.stop(); });

const LOGIN = '/dashboard/sso/login';
const isCallback = (u: URL): boolean => u.pathname === '/dashboard/sso/callback';

/** Sign in as `user` up to the provider's redirect back: the callback URL, not yet visited. */
async function callbackUrl(jar: CookieJar, user: string): Promise<string> {
  const nav = await browse(jar, `${env.admin}${LOGIN}`, user, { stopAt: isCallback });
  assert.ok(isCallback(new URL(nav.url)), nav.url);
  return nav.url;
}

const logLine = (msg: string, subject: string): Record<string, unknown> | undefined => env.logs.find((l) => l.msg === msg && l.subject === subject);

test('a user the allow rules name signs in through the provider and gets a strict session the APIs accept', async () => {
  const jar = new CookieJar();
  const start = await send(jar, `${env.admin}${LOGIN}?rd=${encodeURIComponent('/dashboard/')}`);
  assert.equal(start.status, 303);
  const to = new URL(start.headers.get('location')!);
  assert.equal(to.origin, new URL(env.op.issuer).origin);
  assert.equal(to.searchParams.get('code_challenge_method'), 'S256');
  assert.ok(to.searchParams.get('code_challenge') && to.searchParams.get('state') && to.searchParams.get('nonce'));
  assert.equal(to.searchParams.get('redirect_uri'), `${env.admin}/dashboard/sso/callback`);
  const pending = start.headers.getSetCookie()[0]!;
  assert.match(pending, /^gh_dashboard_login=[^;]+; Path=\/dashboard\/sso; HttpOnly; SameSite=Lax; Max-Age=600$/);

  const nav = await browse(jar, to.href, 'alice');
  assert.equal(nav.response.status, 200);
  const page = await nav.response.text();
  assert.match(page, /<meta http-equiv="refresh" content="0;url=\/dashboard\/">/);
  const set = nav.response.headers.getSetCookie();
  const session = set.find((c) => c.startsWith('gatehouse_dashboard='))!;
  for (const attr of ['HttpOnly', 'SameSite=Strict', 'Path=/dashboard', 'Max-Age=28800']) assert.ok(session.includes(attr), `${attr} in ${session}`);
  assert.ok(set.some((c) => /^gh_dashboard_login=; .*Max-Age=0/.test(c)), 'the pending sign-in cookie is cleared');

  const me = await send(jar, `${env.admin}/dashboard/api/session`, { headers: { accept: 'application/json' } });
  assert.deepEqual(await me.json(), { via: 'sso', subject: 'alice' });
  assert.equal((await send(jar, `${env.admin}/dashboard/api/stats`)).status, 200);
  assert.equal((await send(jar, `${env.admin}/dashboard`)).status, 200);

  const line = logLine('dashboard sign-in', 'alice');
  assert.ok(line, 'the sign-in is logged with the subject');
  assert.equal(line.provider, 'idp');
  assert.doesNotMatch(JSON.stringify(env.logs), /eyJ|code=/, 'no token or code in the log');
});

test('a signed-in user outside the allow rules is refused with 403 and gets no session', async () => {
  const jar = new CookieJar();
  const nav = await browse(jar, `${env.admin}${LOGIN}`, 'bob');
  assert.equal(nav.response.status, 403);
  assert.match(await nav.response.text(), /bob is signed in at idp but may not see this dashboard/);
  assert.ok(!jar.names(env.admin).includes('gatehouse_dashboard'), jar.names(env.admin).join());
  assert.equal((await send(jar, `${env.admin}/dashboard/api/stats`)).status, 401);
  const line = logLine('dashboard sign-in refused', 'bob');
  assert.ok(line, 'the refusal is logged with the subject');
  assert.equal(line.code, 'not_allowed');
});

test('a callback is used once: replaying it is refused', async () => {
  const jar = new CookieJar();
  const url = await callbackUrl(jar, 'alice');
  const cookie = jar.header(url)!;
  assert.equal((await send(jar, url)).status, 200);
  const replay = await fetch(url, { redirect: 'manual', headers: { cookie } });
  assert.equal(replay.status, 400);
  assert.match(await replay.text(), /unknown, expired or already used/);
  assert.ok(!replay.headers.getSetCookie().some((c) => c.startsWith('gatehouse_dashboard=')));
});

test('a forged state, a callback without the starting browser\'s cookie, and a code of another sign-in are refused', async () => {
  const jar = new CookieJar();
  const url = new URL(await callbackUrl(jar, 'alice'));
  const forged = new URL(url);
  forged.searchParams.set('state', 'forged-state');
  assert.equal((await send(new CookieJar(), forged.href)).status, 400);
  assert.equal((await send(jar, forged.href)).status, 400);
  // The code handed to another browser (login CSRF): that browser holds no pending sign-in for the state.
  const other = new CookieJar();
  const r = await send(other, url.href);
  assert.equal(r.status, 400);
  assert.ok(!other.names(env.admin).includes('gatehouse_dashboard'));

  // A code from one sign-in with the state of another: its PKCE verifier does not match, the provider refuses.
  const jar2 = new CookieJar();
  const url2 = new URL(await callbackUrl(jar2, 'alice'));
  const swapped = new URL(url2);
  swapped.searchParams.set('code', (await (async () => { const j = new CookieJar(); return new URL(await callbackUrl(j, 'alice')).searchParams.get('code')!; })()));
  const refused = await send(jar2, swapped.href);
  assert.equal(refused.status, 401);
  assert.match(await refused.text(), /did not complete the sign-in/);
  assert.ok(!jar2.names(env.admin).includes('gatehouse_dashboard'));
});

test('only a dashboard page is a return path', async () => {
  for (const rd of ['https://evil.example/', '//evil.example/x', '/\\evil.example', '/metrics', '/dashboard/api/stats', '/dashboard/sso/login', '/dashboardx', '/%2f%2fevil']) {
    const r = await send(new CookieJar(), `${env.admin}${LOGIN}?rd=${encodeURIComponent(rd)}`);
    assert.equal(r.status, 400, rd);
    assert.equal(r.headers.get('location'), null, rd);
  }
  assert.equal((await send(new CookieJar(), `${env.admin}${LOGIN}?rd=${encodeURIComponent('/dashboard/#audit')}`)).status, 303);
});

test('SSO sessions meet the same CSRF check; without a token the token login is off', async () => {
  const jar = new CookieJar();
  await browse(jar, `${env.admin}${LOGIN}`, 'alice');
  const body = JSON.stringify({ method: 'GET', path: '/app/x' });
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  assert.equal((await send(jar, `${env.admin}/dashboard/api/simulate`, { method: 'POST', headers: { ...headers, origin: 'http://evil.example' }, body })).status, 403);
  assert.equal((await send(jar, `${env.admin}/dashboard/api/simulate`, { method: 'POST', headers, body })).status, 403);
  assert.equal((await send(jar, `${env.admin}/dashboard/api/simulate`, { method: 'POST', headers: { ...headers, origin: env.admin }, body })).status, 200);

  const page = await (await send(new CookieJar(), `${env.admin}/dashboard/login`)).text();
  assert.match(page, /href="\/dashboard\/sso\/login">Sign in with SSO \(idp\)/);
  assert.doesNotMatch(page, /id="token"/);
  const token = await send(new CookieJar(), `${env.admin}/dashboard/login`, { method: 'POST', headers: { origin: env.admin, 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=anything-at-all-0123456789' });
  assert.equal(token.status, 404);
  assert.equal((await send(new CookieJar(), `${env.admin}/dashboard/api/stats`, { headers: { authorization: 'Bearer anything-at-all-0123456789' } })).status, 401);
});
