// The dashboard's SSO behind a TLS-terminating proxy (`sso.externalUrl: https://…`): the redirect URI
// and the CSRF origin are the proxy's, and the cookies are `__Host-` and `Secure`. The proxy is
// played by rewriting the external origin to the admin listener's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { browse, CookieJar, send } from '../harness/sso.js';
import { startDashboardSso, type DashboardSsoEnv } from '../harness/dashboard-sso.js';

const EXTERNAL = 'https://gatehouse-admin.example.test';
let env: DashboardSsoEnv;
before(async () => { env = await startDashboardSso({ externalUrl: EXTERNAL, ownClient: true }); });
after(async () => { await env.stop(); });

/** What the proxy does: the same path and query, on the admin listener. */
const viaProxy = (url: string): string => url.replace(EXTERNAL, env.admin);

test('behind an https proxy the sign-in uses the external origin and __Host- Secure cookies', async () => {
  const jar = new CookieJar();
  const start = await send(jar, `${env.admin}/dashboard/sso/login`);
  assert.equal(start.status, 303);
  const to = new URL(start.headers.get('location')!);
  assert.equal(to.searchParams.get('redirect_uri'), `${EXTERNAL}/dashboard/sso/callback`);
  assert.match(start.headers.getSetCookie()[0]!, /^__Host-gh_dashboard_login=[^;]+; Path=\/; Secure; HttpOnly; SameSite=Lax; Max-Age=600$/);

  const nav = await browse(jar, to.href, 'alice', { stopAt: (u) => u.origin === EXTERNAL });
  const done = await send(jar, viaProxy(nav.url));
  assert.equal(done.status, 200);
  const session = done.headers.getSetCookie().find((c) => c.startsWith('__Host-gh_dashboard='))!;
  assert.match(session, /^__Host-gh_dashboard=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Strict; Max-Age=28800$/);
  assert.ok(!done.headers.getSetCookie().some((c) => c.startsWith('gatehouse_dashboard=')));

  assert.equal((await send(jar, `${env.admin}/dashboard/api/stats`)).status, 200);
  // The plain-HTTP cookie name does not open anything on an https origin.
  const value = /^__Host-gh_dashboard=([^;]+)/.exec(session)![1]!;
  assert.equal((await fetch(`${env.admin}/dashboard/api/stats`, { headers: { cookie: `gatehouse_dashboard=${value}` } })).status, 401);

  const body = JSON.stringify({ method: 'GET', path: '/app/x' });
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  assert.equal((await send(jar, `${env.admin}/dashboard/api/simulate`, { method: 'POST', headers: { ...headers, origin: env.admin }, body })).status, 403, 'the listener\'s own origin is not the one browsers use');
  assert.equal((await send(jar, `${env.admin}/dashboard/api/simulate`, { method: 'POST', headers: { ...headers, origin: EXTERNAL }, body })).status, 200);

  const out = await send(jar, `${env.admin}/dashboard/logout`, { method: 'POST', headers: { origin: EXTERNAL, accept: 'application/json' }, body: '' });
  assert.equal(out.status, 200);
  assert.ok(out.headers.getSetCookie().some((c) => /^__Host-gh_dashboard=; Path=\/; Secure; .*Max-Age=0$/.test(c)));
  assert.equal((await fetch(`${env.admin}/dashboard/api/stats`, { headers: { cookie: `__Host-gh_dashboard=${value}` } })).status, 401);
});
