// OIDC Back-Channel Logout: a session ended at the provider is refused at the gateway; forged logout tokens are refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, generateKeyPair } from 'jose';
import { browse, CookieJar, send, startSsoEnv, WEB_CLIENT_ID, type SsoEnv } from '../harness/sso.js';

let env: SsoEnv;
before(async () => { env = await startSsoEnv({ backchannel: true }); });
after(async () => { await env?.stop(); });

const JSON_ACCEPT = { accept: 'application/json' };

test('signing out at the provider ends the gateway session through the back channel', async () => {
  const jar = new CookieJar();
  const nav = await browse(jar, `${env.origin}/app/home`);
  assert.equal(nav.response.status, 200);
  await nav.response.arrayBuffer();
  const before = await send(jar, `${env.origin}/app/data`, { headers: JSON_ACCEPT });
  assert.equal(before.status, 200);
  await before.arrayBuffer();
  // The user signs out at the provider itself, not through the gateway: only the back channel tells us.
  const out = await browse(jar, `${env.op.issuer}/session/end?client_id=${WEB_CLIENT_ID}`);
  await out.response.arrayBuffer();
  assert.ok(jar.names(env.origin).includes('__Host-gh_session.0'), 'the browser still holds the cookie');
  const api = await send(jar, `${env.origin}/app/data`, { headers: JSON_ACCEPT });
  assert.equal(api.status, 401);
  assert.equal(((await api.json()) as { code: string }).code, 'session_revoked');
  const browser = await send(jar, `${env.origin}/app/page`);
  assert.equal(browser.status, 302, 'a browser is sent to sign in again');
  await browser.arrayBuffer();
});

test('forged, malformed and missing logout tokens are refused with 400', async () => {
  const { privateKey } = await generateKeyPair('RS256');
  const forged = await new SignJWT({ sid: 'x', events: { 'http://schemas.openid.net/event/backchannel-logout': {} } })
    .setProtectedHeader({ alg: 'RS256', kid: 'not-the-providers', typ: 'logout+jwt' }).setIssuer(env.op.issuer).setAudience(WEB_CLIENT_ID).setIssuedAt().setJti('j1').sign(privateKey);
  for (const body of [`logout_token=${forged}`, 'logout_token=not-a-jwt', '', 'other=1']) {
    const res = await fetch(`${env.origin}/.gatehouse/backchannel-logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    assert.equal(res.status, 400, body.slice(0, 30));
    assert.equal(((await res.json()) as { code: string }).code, 'logout_token_invalid');
  }
  const get = await fetch(`${env.origin}/.gatehouse/backchannel-logout`);
  assert.equal(get.status, 405);
  await get.arrayBuffer();
});
