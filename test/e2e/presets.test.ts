import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { JWTPayload } from 'jose';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { rawRequest, type RawResponse } from '../harness/http.js';
import { now, sign, startJwksServer, testKey, type JwksServer, type TestKey } from '../authn/fixtures.js';

// Entra ID presets through a real gateway. Tokens are shaped like Entra's documented v1.0/v2.0
// access tokens and signed with a test key; the local JWKS server stands in for Entra's keys
// endpoint (login.microsoftonline.com/.../discovery/v2.0/keys), so the issuers are the real ones.

const HOME = '4b0911a0-929b-4715-944b-c03745165b3a';
const PARTNER_A = '9f3c2e71-5d1a-4c8e-b6a2-0e7d4f1c9b84';
const PARTNER_B = '0d8e7f6a-5b4c-4d3e-a2f1-e0d9c8b7a6f5';
const STRANGER = 'c2d4e6f8-1a3b-4c5d-8e9f-0a1b2c3d4e5f';
const APP_ID_URI = 'api://metrics';
const API_CLIENT_ID = '6e74172b-be56-4843-9ff4-e66a39bb12e3';
const ADF_MI_CLIENT_ID = '8d2b7e44-1f0c-4a65-9e3b-5c7a1d9f2e60';
const ADF_MI_OID = '1e2d3c4b-5a69-4788-97a6-b5c4d3e2f1a0';

let jwks: JwksServer;
let key: TestKey;
let upstream: TestUpstream;
let gw: TestGateway;

before(async () => {
  key = await testKey('RS256');
  jwks = await startJwksServer([key.jwk]);
  upstream = await startUpstream();
  gw = await startGateway({
    providers: {
      entra: {
        type: 'oidc', preset: 'entra-id', issuer: `https://login.microsoftonline.com/${HOME}/v2.0`,
        jwksUri: jwks.jwksUri, audience: [APP_ID_URI, API_CLIENT_ID],
      },
      partners: {
        type: 'oidc', preset: 'entra-id', issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0',
        tenants: [PARTNER_A, PARTNER_B], jwksUri: jwks.jwksUri, audience: [APP_ID_URI, API_CLIENT_ID],
      },
    },
    routes: [
      { name: 'metrics', match: { path: '/metrics/*' }, authenticate: ['entra'], allow: [{ name: 'pipelines', roles: ['Metrics.Read'] }], upstream: { url: upstream.url } },
      { name: 'partner-metrics', match: { path: '/partners/*' }, authenticate: ['partners'], allow: [{ name: 'partners', roles: ['Metrics.Read'] }], upstream: { url: upstream.url } },
    ],
  });
});
after(async () => { await gw.stop(); await upstream.close(); await jwks.close(); });

const get = (path: string, token: string): Promise<RawResponse> => rawRequest(gw.url, 'GET', path, { authorization: `Bearer ${token}` });

/**
 * What an Azure Data Factory (or Synapse) managed identity sends: a client-credentials token for
 * the App ID URI, v1.0 unless the app manifest asks for v2, with application permissions in
 * `roles`, `idtyp: app` and no `scp`.
 */
function dataFactoryToken(tid: string, roles: string[], extra: JWTPayload = {}): Promise<string> {
  const t = now();
  const iss = `https://sts.windows.net/${tid}/`;
  return sign(key, iss, {
    aud: APP_ID_URI, iat: t, nbf: t, exp: t + 86_400, aio: 'k2BgYDD7u5eUm9u2jXf4AQA=', appid: ADF_MI_CLIENT_ID, appidacr: '2',
    idp: iss, idtyp: 'app', oid: ADF_MI_OID, rh: '0.AXkAoBEJS5uSFUeUS8A3RRZbOgcAAAAAAAAAwAAAAAAAAAB5AAA.', roles, sub: ADF_MI_OID,
    tid, uti: 'Xb3mQ0r7XkWq9sXb1Y0RAA', ver: '1.0',
    xms_mirid: '/subscriptions/0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9/resourcegroups/data/providers/Microsoft.DataFactory/factories/adf-prod',
    ...extra,
  }, { typ: 'JWT', x5t: key.kid });
}

/** A v2.0 app-only token of a partner tenant's daemon app. */
function partnerToken(tid: string): Promise<string> {
  const t = now();
  return sign(key, `https://login.microsoftonline.com/${tid}/v2.0`, {
    aud: API_CLIENT_ID, iat: t, nbf: t, exp: t + 3600, aio: 'E2ZgYJj8mF3mZ6cG3v4TAA==', azp: '0c1a6e0b-7f37-4e8a-9b1d-2f5d7c3a9e10', azpacr: '1',
    idtyp: 'app', oid: '2f5a6b1c-3d4e-4f60-8a7b-9c0d1e2f3a4b', rh: '0.AXkA.', roles: ['Metrics.Read'], sub: '2f5a6b1c-3d4e-4f60-8a7b-9c0d1e2f3a4b',
    tid, uti: 'fqiBqXLPj0eQa82S-IYFAA', ver: '2.0',
  }, { typ: 'JWT' });
}

test('a Data Factory managed identity token (roles, no scp) passes allow: [{ roles: [Metrics.Read] }]', async () => {
  const res = await get('/metrics/daily', await dataFactoryToken(HOME, ['Metrics.Read']));
  assert.equal(res.status, 200, res.body);
  const seen = upstream.seen.at(-1)!;
  assert.equal(seen.headers['x-gatehouse-subject'], ADF_MI_OID);
  assert.equal(seen.headers['x-gatehouse-client-id'], ADF_MI_CLIENT_ID);
  assert.equal(seen.headers['x-gatehouse-tenant'], HOME);
  assert.equal(seen.headers['x-gatehouse-roles'], 'Metrics.Read');
  assert.equal(seen.headers['x-gatehouse-scopes'] ?? '', '');
  const line = await gw.auditLine((l) => (l.identity as { subject?: string } | null)?.subject === ADF_MI_OID);
  assert.deepEqual(line?.decision, { allow: true, rule: 'pipelines', reason: 'allowed' });
});

test('a managed identity token lacking the app role gets 403 no_rule_matched', async () => {
  const res = await get('/metrics/daily', await dataFactoryToken(HOME, ['Metrics.Write']));
  assert.equal(res.status, 403, res.body);
  assert.equal(res.json().code, 'no_rule_matched');
  assert.match(String(res.headers['www-authenticate']), /error="insufficient_scope"/);
});

test('multi-tenant: both allow-listed tenants pass (v2 and v1 tokens); a third tenant is refused with issuer_unknown', async () => {
  for (const tid of [PARTNER_A, PARTNER_B]) {
    const res = await get('/partners/daily', await partnerToken(tid));
    assert.equal(res.status, 200, res.body);
    assert.equal(upstream.seen.at(-1)!.headers['x-gatehouse-tenant'], tid);
  }
  assert.equal((await get('/partners/daily', await dataFactoryToken(PARTNER_B, ['Metrics.Read']))).status, 200);
  const res = await get('/partners/daily', await partnerToken(STRANGER));
  assert.equal(res.status, 401, res.body);
  const body = res.json();
  assert.equal(body.code, 'issuer_unknown');
  assert.equal(body.detail, `tenant ${STRANGER} is not accepted by this provider`);
  assert.match(String(res.headers['www-authenticate']), new RegExp(`error="invalid_token", error_description="tenant ${STRANGER} is not accepted`));
  // The home tenant is not on the partners' list either: single- and multi-tenant providers are separate.
  assert.equal((await get('/partners/daily', await partnerToken(HOME))).json().code, 'issuer_unknown');
});
