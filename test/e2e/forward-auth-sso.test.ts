/**
 * Forward-auth on a route with a session authenticator: the decision endpoint answers a browser
 * without a session with the sign-in redirect (Traefik, Caddy and Envoy return it to the browser as
 * is), the sign-in completes at the gateway's callback, and the next decision sees the session.
 * The proxy is emulated by sending exactly the headers Traefik's ForwardAuth sends (it forwards the
 * browser's own headers, Cookie included, plus X-Forwarded-*).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BROWSER_ACCEPT, browse, CookieJar, startSsoEnv, type SsoEnv } from '../harness/sso.js';

let env: SsoEnv;
before(async () => {
  env = await startSsoEnv({
    config: { forwardAuth: { trustedProxies: ['127.0.0.1'] } },
    routes: (upstream) => [
      { name: 'app', match: { path: '/app/*' }, authenticate: ['session:idp', 'idp'], upstream: { url: upstream } },
      { name: 'admin', match: { path: '/admin/*' }, authenticate: ['session:idp', 'idp'], allow: [{ roles: ['admin'] }], upstream: { url: upstream } },
      { name: 'api', match: { path: '/api/*' }, authenticate: ['session:idp', 'idp'], loginRedirect: false, upstream: { url: upstream } },
    ],
  });
});
after(async () => { await env?.stop(); });

/** Ask the endpoint about `uri` as Traefik would for a browser request to the gateway's own host. */
function decide(uri: string, headers: Record<string, string>): Promise<Response> {
  const host = new URL(env.origin).host;
  return fetch(`${env.origin}/.gatehouse/auth`, {
    redirect: 'manual',
    headers: { 'x-forwarded-method': 'GET', 'x-forwarded-uri': uri, 'x-forwarded-host': host, 'x-forwarded-proto': 'http', ...headers },
  });
}

test('a browser without a session is sent to sign in, comes back to the page it asked for, and is then allowed', async () => {
  const first = await decide('/app/reports/7?tab=x', { accept: BROWSER_ACCEPT });
  assert.equal(first.status, 302);
  const location = new URL(first.headers.get('location')!);
  assert.equal(location.origin, new URL(env.op.issuer).origin, 'to the identity provider');
  assert.equal(location.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(location.searchParams.get('redirect_uri'), `${env.origin}/.gatehouse/callback`);
  const pending = first.headers.getSetCookie();
  assert.ok(pending.some((c) => c.startsWith('__Host-gh_login')), 'the pending sign-in cookie goes to the browser with the redirect');

  const jar = new CookieJar();
  for (const c of pending) { const [pair] = c.split(';'); const i = pair!.indexOf('='); jar.set(env.origin, pair!.slice(0, i), pair!.slice(i + 1)); }
  const nav = await browse(jar, location.href);
  assert.equal(new URL(nav.url).pathname + new URL(nav.url).search, '/app/reports/7?tab=x', 'the deep link restored');
  await nav.response.arrayBuffer();

  const allowed = await decide('/app/reports/7', { accept: BROWSER_ACCEPT, cookie: jar.header(env.origin) ?? '' });
  assert.equal(allowed.status, 200);
  assert.equal(allowed.headers.get('x-gatehouse-subject'), 'alice');
  assert.equal(allowed.headers.get('x-gatehouse-auth-method'), 'session');
  const denied = await decide('/admin/x', { accept: BROWSER_ACCEPT, cookie: (await signedInAs('bob')).header(env.origin) ?? '' });
  assert.equal(denied.status, 403, 'the session identity meets the route\'s policy like a bearer identity');
});

test('an API client is never redirected: 401 with the problem body', async () => {
  const res = await decide('/app/x', { accept: 'application/json' });
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('location'), null);
  assert.match(res.headers.get('content-type') ?? '', /problem\+json/);
});

async function signedInAs(login: string): Promise<CookieJar> {
  const jar = new CookieJar();
  const nav = await browse(jar, `${env.origin}/app/home`, login);
  await nav.response.arrayBuffer();
  return jar;
}

test('a route with loginRedirect: false is an API route: even a browser without a session gets 401, directly and through forward-auth', async () => {
  const direct = await fetch(`${env.origin}/api/orders`, { redirect: 'manual', headers: { accept: BROWSER_ACCEPT } });
  assert.equal(direct.status, 401);
  assert.equal(direct.headers.get('location'), null);
  const asked = await decide('/api/orders', { accept: BROWSER_ACCEPT });
  assert.equal(asked.status, 401);
  const page = await fetch(`${env.origin}/app/x`, { redirect: 'manual', headers: { accept: BROWSER_ACCEPT } });
  assert.equal(page.status, 302, 'the other routes still send browsers to sign in');
});
