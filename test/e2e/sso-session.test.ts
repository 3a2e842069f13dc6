/**
 * Browser sessions without a browser: sign in through the real provider's forms with fetch and a
 * cookie jar, then attack the cookie, the callback, the return URL, the refresh and the origin.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { explainRequest } from '../../src/pipeline/explain.js';
import { createSealer } from '../../src/authn/session/seal.js';
import { readChunks, parseCookies } from '../../src/authn/session/cookies.js';
import { browse, CookieJar, send, SESSION_KEYS, startSsoEnv, type SsoEnv } from '../harness/sso.js';

let env: SsoEnv;
before(async () => { env = await startSsoEnv(); });
after(async () => { await env?.stop(); });

const JSON_ACCEPT = { accept: 'application/json' };
const isCallback = (u: URL): boolean => u.pathname === '/.gatehouse/callback';

async function signedIn(login = 'alice', target = '/app/home'): Promise<CookieJar> {
  const jar = new CookieJar();
  const nav = await browse(jar, `${env.origin}${target}`, login);
  assert.equal(nav.response.status, 200, `sign-in ended at ${nav.url}`);
  await nav.response.arrayBuffer();
  return jar;
}

/** The request's session cookie value (chunks joined). */
const sessionValue = (jar: CookieJar): string => readChunks(parseCookies(jar.header(env.origin)), 'gh_session')!;
/** A jar holding only `value` as the session cookie (one chunk per 3800 characters). */
function jarWith(value: string): CookieJar {
  const jar = new CookieJar();
  for (let i = 0; i * 3800 < value.length; i++) jar.set(env.origin, `__Host-gh_session.${i}`, value.slice(i * 3800, (i + 1) * 3800));
  return jar;
}

async function problem(res: Response): Promise<{ code: string }> {
  assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
  return (await res.json()) as { code: string };
}

test('a browser signs in, comes back to the deep link, and the upstream sees the identity but no gateway cookie', async () => {
  const jar = new CookieJar();
  const before = env.upstream.seen.length;
  const nav = await browse(jar, `${env.origin}/app/reports/42?tab=sales`);
  assert.equal(nav.response.status, 200);
  assert.equal(new URL(nav.url).pathname + new URL(nav.url).search, '/app/reports/42?tab=sales');
  const seen = env.upstream.seen.slice(before).at(-1)!;
  assert.equal(seen.url, '/app/reports/42?tab=sales');
  assert.equal(seen.headers['x-gatehouse-subject'], 'alice');
  assert.equal(seen.headers['x-gatehouse-auth-method'], 'session');
  assert.equal(seen.headers['x-gatehouse-roles'], 'reader,admin');
  assert.equal(seen.headers['x-gatehouse-groups'], 'staff,team-alice');
  assert.doesNotMatch(String(seen.headers.cookie ?? ''), /__Host-gh_/);
});

test('session cookies are __Host-, Secure, HttpOnly, SameSite=Lax, Path=/', async () => {
  const jar = new CookieJar();
  const nav = await browse(jar, `${env.origin}/app/x`, 'alice', { stopAt: isCallback });
  const res = await send(jar, nav.url);
  const lines = res.headers.getSetCookie().filter((l) => l.startsWith('__Host-gh_session'));
  assert.ok(lines.length >= 1);
  for (const line of lines) {
    assert.match(line, /; Path=\/;/);
    for (const attr of ['Secure', 'HttpOnly', 'SameSite=Lax']) assert.ok(line.split('; ').includes(attr), `${attr} in ${line.slice(0, 30)}…`);
    assert.doesNotMatch(line, /Domain=/i);
  }
});

test('an API client without a session gets 401 with a problem body, never a redirect', async () => {
  const variants: Record<string, string>[] = [JSON_ACCEPT, { accept: 'text/html', 'x-requested-with': 'XMLHttpRequest' }, {}];
  for (const headers of variants) {
    const res = await fetch(`${env.origin}/app/data`, { redirect: 'manual', headers });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('location'), null);
    assert.equal((await problem(res)).code, 'token_missing');
  }
  const post = await fetch(`${env.origin}/app/data`, { method: 'POST', redirect: 'manual', headers: { accept: 'text/html' } });
  assert.equal(post.status, 401, 'a POST is never sent to sign in');
  await post.arrayBuffer();
});

test('bearer tokens still work on a session route', async () => {
  const token = await env.op.clientCredentialsToken();
  const res = await fetch(`${env.origin}/app/data`, { headers: { authorization: `Bearer ${token}`, ...JSON_ACCEPT } });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
});

test('tampered and truncated cookies are refused: 401 for APIs, a fresh sign-in for browsers, the cookie cleared', async () => {
  const value = sessionValue(await signedIn());
  const mid = Math.floor(value.length / 2);
  const tampered = value.slice(0, mid) + (value[mid] === 'A' ? 'B' : 'A') + value.slice(mid + 1);
  for (const bad of [tampered, value.slice(0, -5), value.split('.').slice(0, 4).join('.'), 'garbage', `${value}x`]) {
    const api = await send(jarWith(bad), `${env.origin}/app/data`, { headers: JSON_ACCEPT });
    assert.equal(api.status, 401);
    assert.equal((await problem(api)).code, 'session_invalid');
    assert.ok(api.headers.getSetCookie().some((l) => l.startsWith('__Host-gh_session.0=;') && l.includes('Max-Age=0')));
    const browser = await send(jarWith(bad), `${env.origin}/app/page`);
    assert.equal(browser.status, 302);
    assert.ok(browser.headers.get('location')!.startsWith(`${env.op.issuer}/auth?`));
    await browser.arrayBuffer();
  }
});

test('an Entra-sized session (200 groups) is chunked under 4 KB a cookie; a missing or reordered chunk does not open', async () => {
  const jar = await signedIn('many');
  const names = jar.names(env.origin).filter((n) => n.startsWith('__Host-gh_session.'));
  assert.ok(names.length >= 2, `chunks: ${names.join(', ')}`);
  for (const n of names) assert.ok(`${n}=${jar.get(env.origin, n)}`.length < 4000);
  const ok = await send(jar, `${env.origin}/app/data`, { headers: JSON_ACCEPT });
  assert.equal(ok.status, 200);
  await ok.arrayBuffer();
  const [c0, c1] = [jar.get(env.origin, names[0]!)!, jar.get(env.origin, names[1]!)!];
  const swapped = new CookieJar();
  swapped.set(env.origin, names[0]!, c1);
  swapped.set(env.origin, names[1]!, c0);
  const missing = new CookieJar();
  missing.set(env.origin, names[0]!, c0);
  for (const j of [swapped, missing]) {
    const res = await send(j, `${env.origin}/app/data`, { headers: JSON_ACCEPT });
    assert.equal((await problem(res)).code, 'session_invalid');
  }
});

test('key rotation: a session sealed with a still-listed older key opens; one sealed with a removed key is refused', async () => {
  const current = createSealer(SESSION_KEYS);
  const payload = (await current.open(sessionValue(await signedIn())))!;
  const older = await createSealer([SESSION_KEYS[1]!]).seal(payload);
  const res = await send(jarWith(older), `${env.origin}/app/data`, { headers: JSON_ACCEPT });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  const retired = await createSealer(['a-retired-session-key-0123456789abcdef-xyz']).seal(payload);
  const refused = await send(jarWith(retired), `${env.origin}/app/data`, { headers: JSON_ACCEPT });
  assert.equal((await problem(refused)).code, 'session_invalid');
});

test('idle and absolute lifetimes end a session', async () => {
  const sealer = createSealer(SESSION_KEYS);
  const payload = (await sealer.open(sessionValue(await signedIn())))!;
  const now = Math.floor(Date.now() / 1000);
  for (const stale of [{ ...payload, iat: now - 2 * 86400, t: now - 60 }, { ...payload, t: now - 9 * 3600 }]) {
    const res = await send(jarWith(await sealer.seal(stale)), `${env.origin}/app/data`, { headers: JSON_ACCEPT });
    assert.equal((await problem(res)).code, 'session_expired');
  }
});

test('the callback refuses a replayed state, an unknown state and a missing login cookie', async () => {
  const jar = new CookieJar();
  const nav = await browse(jar, `${env.origin}/app/x`, 'alice', { stopAt: isCallback });
  const loginCookie = jar.names(env.origin).find((n) => n.startsWith('__Host-gh_login_'))!;
  const loginValue = jar.get(env.origin, loginCookie)!;
  const first = await send(jar, nav.url);
  assert.equal(first.status, 302);
  await first.arrayBuffer();
  // Replay: the same callback URL with the pending-login cookie put back.
  jar.set(env.origin, loginCookie, loginValue);
  const replay = await send(jar, nav.url, { headers: JSON_ACCEPT });
  assert.equal(replay.status, 400);
  assert.equal((await problem(replay)).code, 'login_state_invalid');
  const url = new URL(nav.url);
  url.searchParams.set('state', 'forged-state');
  const forged = await send(jar, url.href, { headers: JSON_ACCEPT });
  assert.equal((await problem(forged)).code, 'login_state_invalid');
  const bare = await fetch(nav.url, { redirect: 'manual', headers: JSON_ACCEPT });
  assert.equal((await problem(bare)).code, 'login_state_invalid');
});

test('return URLs: only same-origin relative paths; open-redirect tricks are refused', async () => {
  for (const rd of ['//evil.example/x', '/\\evil.example', 'https://evil.example/', '/%2F%2Fevil.example', '/%5Cevil.example', '/x/..//evil.example', 'javascript:alert(1)', '/\t/evil.example', 'evil.example']) {
    const res = await fetch(`${env.origin}/.gatehouse/login?rd=${encodeURIComponent(rd)}`, { redirect: 'manual', headers: JSON_ACCEPT });
    assert.equal(res.status, 400, rd);
    assert.equal((await problem(res)).code, 'redirect_not_allowed');
  }
  const jar = new CookieJar();
  const nav = await browse(jar, `${env.origin}/.gatehouse/login?rd=${encodeURIComponent('/app/after?x=1')}`);
  assert.equal(new URL(nav.url).pathname + new URL(nav.url).search, '/app/after?x=1');
  await nav.response.arrayBuffer();
});

test('a cookie-authenticated state change needs the gateway\'s own origin', async () => {
  const jar = await signedIn();
  const cases: [Record<string, string>, number][] = [
    [{ origin: 'https://evil.example' }, 403], [{ 'sec-fetch-site': 'cross-site' }, 403], [{ origin: 'null' }, 403], [{}, 403],
    [{ origin: env.origin }, 200], [{ 'sec-fetch-site': 'same-origin' }, 200],
  ];
  for (const [headers, status] of cases) {
    const res = await send(jar, `${env.origin}/app/items`, { method: 'POST', headers: { ...JSON_ACCEPT, ...headers }, body: '{}' });
    assert.equal(res.status, status, JSON.stringify(headers));
    if (status === 403) assert.equal((await problem(res)).code, 'csrf_origin_mismatch');
    else await res.arrayBuffer();
  }
});

test('a denied browser gets an HTML page, an API client the problem body', async () => {
  const jar = await signedIn('bob');
  const page = await send(jar, `${env.origin}/admin/x`);
  assert.equal(page.status, 403);
  assert.match(page.headers.get('content-type')!, /text\/html/);
  assert.match(await page.text(), /no_rule_matched/);
  const api = await send(jar, `${env.origin}/admin/x`, { headers: JSON_ACCEPT });
  assert.equal((await problem(api)).code, 'no_rule_matched');
});

test('logout clears the cookies and ends the session at the provider; its return URL is allow-listed', async () => {
  const jar = await signedIn();
  const bad = await send(jar, `${env.origin}/.gatehouse/logout?rd=${encodeURIComponent('https://evil.example/')}`, { headers: JSON_ACCEPT });
  assert.equal((await problem(bad)).code, 'redirect_not_allowed');
  const out = await send(jar, `${env.origin}/.gatehouse/logout`);
  assert.equal(out.status, 302);
  const end = new URL(out.headers.get('location')!);
  assert.equal(end.origin + end.pathname, `${env.op.issuer}/session/end`);
  assert.ok(end.searchParams.has('id_token_hint'));
  assert.equal(end.searchParams.get('post_logout_redirect_uri'), `${env.origin}/signed-out`);
  assert.equal(jar.names(env.origin).filter((n) => n.startsWith('__Host-gh_session')).length, 0);
  const done = await browse(jar, end.href);
  assert.equal(new URL(done.url).pathname, '/signed-out');
  await done.response.arrayBuffer();
  // Signed out at the provider too: the next sign-in asks for the login form again.
  const again = await browse(jar, `${env.origin}/app/x`, 'alice', { stopAt: (u) => u.pathname.startsWith('/interaction/') });
  const form = await send(jar, again.url);
  assert.match(await form.text(), /name="login"/);
});

test('a session identity is audited and explained like a bearer identity', async () => {
  const jar = await signedIn();
  const res = await send(jar, `${env.origin}/app/audited`, { headers: JSON_ACCEPT });
  const requestId = res.headers.get('x-request-id');
  await res.arrayBuffer();
  const line = await env.gw.auditLine((l) => l.request_id === requestId);
  assert.ok(line, 'audit line written');
  assert.deepEqual(line.authn, { result: 'ok', provider: 'idp' });
  assert.equal((line.identity as { subject: string; auth_method: string }).auth_method, 'session');
  assert.doesNotMatch(JSON.stringify(line), /__Host-gh_|eyJhbGciOiJkaXIi/, 'no cookie value in the audit line');
  const explained = await explainRequest(env.gw.gateway.ref.current, 'GET', '/admin/x', { cookie: jar.header(env.origin)!, accept: 'application/json' });
  assert.equal(explained.refusal, undefined);
  assert.equal(explained.ctx.identity?.authMethod, 'session');
  assert.deepEqual(explained.ctx.identity?.roles, ['reader', 'admin']);
});

test('rotating the keys by reload logs nobody out; removing the old key ends its sessions', async () => {
  const jar = await signedIn();
  const original = readFileSync(env.gw.configFile, 'utf8');
  const withKeys = (keys: string[]): void => {
    const config = JSON.parse(original) as { providers: { idp: { login: { keys: string[] } } } };
    config.providers.idp.login.keys = keys;
    writeFileSync(env.gw.configFile, JSON.stringify(config));
  };
  process.env.GH_TEST_SESSION_KEY_NEW = 'k2-the-newest-session-key-0123456789abcdef';
  try {
    withKeys(['${env:GH_TEST_SESSION_KEY_NEW}', '${env:GH_TEST_SESSION_KEY_0}']);
    assert.equal(await env.gw.gateway.reload(), true);
    const still = await send(jar, `${env.origin}/app/data`, { headers: JSON_ACCEPT });
    assert.equal(still.status, 200, 'the session sealed with the now older key still opens');
    await still.arrayBuffer();
    const fresh = sessionValue(await signedIn());
    assert.ok(await createSealer([process.env.GH_TEST_SESSION_KEY_NEW]).open(fresh), 'new sessions are sealed with the new first key');
    withKeys(['${env:GH_TEST_SESSION_KEY_NEW}']);
    assert.equal(await env.gw.gateway.reload(), true);
    const gone = await send(jar, `${env.origin}/app/data`, { headers: JSON_ACCEPT });
    assert.equal((await problem(gone)).code, 'session_invalid');
  } finally {
    writeFileSync(env.gw.configFile, original);
    await env.gw.gateway.reload();
  }
});

test('a browser that starts many sign-ins does not pile up pending-login cookies', async () => {
  const jar = new CookieJar();
  for (let i = 0; i < 10; i++) await (await send(jar, `${env.origin}/app/page-${i}`)).arrayBuffer();
  const pending = jar.names(env.origin).filter((n) => n.startsWith('__Host-gh_login_'));
  assert.ok(pending.length >= 1 && pending.length <= 4, `pending: ${pending.length}`);
});
