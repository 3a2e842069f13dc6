// ID tokens the dashboard's SSO must refuse: another audience, another issuer, a wrong nonce, a key
// the provider does not publish. The provider is a small stand-in (node:http + jose) because a real
// one never issues such tokens; the first test shows it is accepted when it tells the truth.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { CookieJar, send } from '../harness/sso.js';

type Lie = 'none' | 'audience' | 'issuer' | 'nonce' | 'key';
let op: Server;
let issuer: string;
let gw: TestGateway;
let lie: Lie = 'none';
let nonce = '';
let key: CryptoKey;
let otherKey: CryptoKey;

before(async () => {
  const pair = await generateKeyPair('RS256');
  key = pair.privateKey;
  ({ privateKey: otherKey } = await generateKeyPair('RS256'));
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  op = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const json = (body: unknown): void => { res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)); };
    if (path === '/.well-known/openid-configuration') {
      return json({ issuer, authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks`, response_types_supported: ['code'], id_token_signing_alg_values_supported: ['RS256'], code_challenge_methods_supported: ['S256'], subject_types_supported: ['public'] });
    }
    if (path === '/jwks') return json({ keys: [jwk] });
    if (path === '/token') {
      req.resume();
      req.on('end', () => {
        void new SignJWT({ nonce: lie === 'nonce' ? 'another-nonce' : nonce, groups: ['gatehouse-admins'] })
          .setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject('alice')
          .setIssuer(lie === 'issuer' ? 'https://evil.example' : issuer).setAudience(lie === 'audience' ? 'another-client' : 'gatehouse-dashboard')
          .setIssuedAt().setExpirationTime('5m').sign(lie === 'key' ? otherKey : key)
          .then((idToken) => json({ access_token: 'at', token_type: 'Bearer', expires_in: 300, id_token: idToken }));
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => op.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(op.address() as AddressInfo).port}`;
  process.env.GH_TEST_DASHBOARD_SECRET = 'dashboard-secret';
  gw = await startGateway({
    providers: { idp: { type: 'oidc', issuer, audience: 'api://app' } },
    admin: { dashboard: { sso: { provider: 'idp', clientId: 'gatehouse-dashboard', clientSecret: '${env:GH_TEST_DASHBOARD_SECRET}', allow: [{ groups: ['gatehouse-admins'] }] } } },
    routes: [{ name: 'open', match: { path: '/open' }, public: true, upstream: { url: 'http://127.0.0.1:9' } }],
  });
});
after(async () => {
  await gw?.stop();
  await new Promise<void>((resolve) => (op ? op.close(() => resolve()) : resolve()));
});

/** Start a sign-in and come back with a code, the provider lying as told. */
async function signIn(how: Lie): Promise<{ status: number; jar: CookieJar }> {
  lie = how;
  const jar = new CookieJar();
  const start = await send(jar, `${gw.adminUrl}/dashboard/sso/login`);
  const auth = new URL(start.headers.get('location')!);
  nonce = auth.searchParams.get('nonce')!;
  const back = await send(jar, `${gw.adminUrl}/dashboard/sso/callback?code=a-code&state=${auth.searchParams.get('state')!}`);
  return { status: back.status, jar };
}

test('an honest ID token signs the user in', async () => {
  const { status, jar } = await signIn('none');
  assert.equal(status, 200);
  assert.ok(jar.names(gw.adminUrl).includes('gatehouse_dashboard'));
});

for (const how of ['audience', 'issuer', 'nonce', 'key'] as const) {
  test(`an ID token with the wrong ${how} is refused, without a session`, async () => {
    const { status, jar } = await signIn(how);
    assert.equal(status, 401);
    assert.ok(!jar.names(gw.adminUrl).includes('gatehouse_dashboard'));
  });
}
