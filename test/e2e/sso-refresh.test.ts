/**
 * Session refresh against the real provider with short token lifetimes and rotating refresh tokens:
 * parallel requests cause one refresh, late requests with the old cookie reuse it, a refused refresh
 * ends the session.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSealer } from '../../src/authn/session/seal.js';
import { parseCookies, readChunks } from '../../src/authn/session/cookies.js';
import { browse, CookieJar, send, SESSION_KEYS, startSsoEnv, type SsoEnv } from '../harness/sso.js';

let env: SsoEnv;
// Tokens live 12 s and are refreshed when less than 9 s is left: a session is due for refresh after 3 s (room for a
// loaded machine: the straggler below must come before the refreshed session is itself due).
before(async () => { env = await startSsoEnv({ op: { ttl: { AccessToken: 12, IdToken: 12 } }, login: { refreshBefore: '9s' } }); });
after(async () => { await env?.stop(); });

const JSON_ACCEPT = { accept: 'application/json' };
const sealer = createSealer(SESSION_KEYS);
const valueOf = (header: string | undefined): string => readChunks(parseCookies(header), 'gh_session')!;
const cookieOf = (lines: readonly string[]): string => lines.filter((l) => l.startsWith('__Host-gh_session.') && !l.includes('Max-Age=0')).map((l) => l.split(';')[0]).join('; ');

async function signedIn(): Promise<CookieJar> {
  const jar = new CookieJar();
  const nav = await browse(jar, `${env.origin}/app/home`);
  assert.equal(nav.response.status, 200);
  await nav.response.arrayBuffer();
  return jar;
}

test('parallel requests on a session due for refresh cause exactly one refresh at the provider', async () => {
  const jar = await signedIn();
  const cookie = jar.header(env.origin)!;
  const oldRt = (await sealer.open(valueOf(cookie)))!.rt;
  await sleep(3500);
  const before = env.op.refreshRequests;
  const responses = await Promise.all(Array.from({ length: 12 }, () => fetch(`${env.origin}/app/data`, { headers: { cookie, ...JSON_ACCEPT } })));
  for (const r of responses) {
    assert.equal(r.status, 200);
    await r.arrayBuffer();
  }
  assert.equal(env.op.refreshRequests - before, 1);
  const fresh = cookieOf(responses[0]!.headers.getSetCookie());
  assert.ok(fresh !== '', 'the refreshed session comes back as a new cookie');
  for (const r of responses) assert.equal(cookieOf(r.headers.getSetCookie()), fresh, 'every waiting request gets the same new session');
  const newRt = (await sealer.open(valueOf(fresh)))!.rt;
  assert.ok(typeof newRt === 'string' && newRt !== oldRt, 'the rotated refresh token is kept');
  // A straggler still carrying the old cookie is answered from the refresh already done (the old refresh token is spent).
  const late = await fetch(`${env.origin}/app/data`, { headers: { cookie, ...JSON_ACCEPT } });
  assert.equal(late.status, 200);
  await late.arrayBuffer();
  assert.equal(env.op.refreshRequests - before, 1);
  // The new session refreshes again when its own tokens are due.
  await sleep(3500);
  const next = await fetch(`${env.origin}/app/data`, { headers: { cookie: fresh, ...JSON_ACCEPT } });
  assert.equal(next.status, 200);
  await next.arrayBuffer();
  assert.equal(env.op.refreshRequests - before, 2);
});

test('a refused refresh ends the session: cookie cleared, 401 for APIs, a new sign-in for browsers', async () => {
  const jar = await signedIn();
  const cookie = jar.header(env.origin)!;
  await sleep(3500);
  env.op.intercept((req, res) => {
    if (req.url === '/token') {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_grant', error_description: 'grant request is invalid' }));
    } else {
      res.writeHead(503).end();
    }
  });
  try {
    const api = await fetch(`${env.origin}/app/data`, { headers: { cookie, ...JSON_ACCEPT } });
    assert.equal(api.status, 401);
    assert.equal(((await api.json()) as { code: string }).code, 'session_expired');
    assert.ok(api.headers.getSetCookie().some((l) => l.startsWith('__Host-gh_session.0=;') && l.includes('Max-Age=0')));
  } finally {
    env.op.intercept(undefined);
  }
  const browser = await send(new CookieJar(), `${env.origin}/app/page`, { headers: { cookie } });
  assert.equal(browser.status, 302);
  assert.ok(browser.headers.get('location')!.startsWith(`${env.op.issuer}/auth?`));
  assert.ok(browser.headers.getSetCookie().some((l) => l.startsWith('__Host-gh_session.0=;')));
  await browser.arrayBuffer();
});

test('a provider that cannot answer a refresh fails closed with 503, keeping the session for later', async () => {
  const jar = await signedIn();
  const cookie = jar.header(env.origin)!;
  await sleep(3500);
  env.op.intercept((_req, res) => { res.socket?.destroy(); });
  try {
    const api = await fetch(`${env.origin}/app/data`, { headers: { cookie, ...JSON_ACCEPT } });
    assert.equal(api.status, 503);
    assert.equal(((await api.json()) as { code: string }).code, 'provider_unavailable');
    assert.ok(!api.headers.getSetCookie().some((l) => l.includes('Max-Age=0')));
  } finally {
    env.op.intercept(undefined);
  }
  const later = await fetch(`${env.origin}/app/data`, { headers: { cookie, ...JSON_ACCEPT } });
  assert.equal(later.status, 200);
  await later.arrayBuffer();
});
