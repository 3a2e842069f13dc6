import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { Redis } from 'ioredis';
import { startExample, ROOT } from '../harness/examples.js';
import type { TestGateway } from '../harness/gateway.js';
import { rawRequest, type RawResponse } from '../harness/http.js';
import { auth0, cognito, entra, google, keycloak, okta, startSigningKeys, type SigningKeys } from '../harness/provider-tokens.js';
import { makeTestPki } from '../harness/tls.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { REDIS_URL, redisAvailable } from '../limits/redis-env.js';

// Every example in examples/ that authenticates with OIDC/JWT, as the README and docs show it, run by a
// real gateway against keys made here and tokens shaped like the provider's own. Only the key endpoint
// (jwksUri), ports, files and upstreams are local; issuers, audiences and claims are the provider's.

let keys: SigningKeys;
let upstream: TestUpstream;

before(async () => {
  keys = await startSigningKeys();
  upstream = await startUpstream();
});
after(async () => { await upstream.close(); await keys.close(); });

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
const code = (res: RawResponse): string => String(res.json().code);
const seen = (): Record<string, string | string[] | undefined> => upstream.seen.at(-1)!.headers;

/** Start an example whose routes all go to the test upstream. */
function example(name: string, upstreams: string[], env?: Record<string, string>): Promise<TestGateway> {
  return startExample(name, { jwksUri: keys.jwksUri, env, replace: Object.fromEntries(upstreams.map((u) => [u, upstream.url])) });
}

describe('examples/entra-managed-identity.yaml (README: a Data Factory managed identity)', () => {
  const TENANT_ID = randomUUID();
  const API_CLIENT_ID = randomUUID();
  const MI_APP_ID = randomUUID();
  const MI_OID = randomUUID();
  let pki: ReturnType<typeof makeTestPki>;
  let tlsUpstream: https.Server;
  const received: { url: string; headers: Record<string, string | string[] | undefined> }[] = [];
  let gw: TestGateway;

  before(async () => {
    pki = makeTestPki();
    tlsUpstream = https.createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
      received.push({ url: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('metrics');
    });
    await new Promise<void>((resolve) => tlsUpstream.listen(0, '127.0.0.1', resolve));
    gw = await startExample('entra-managed-identity.yaml', {
      jwksUri: keys.jwksUri,
      env: { TENANT_ID, API_CLIENT_ID },
      files: { '/tls/cert.pem': pki.certPem, '/tls/key.pem': pki.keyPem, '/tls/internal-ca.pem': pki.caPem },
      replace: { 'https://10.0.0.5:8443': `https://127.0.0.1:${(tlsUpstream.address() as AddressInfo).port}` },
    });
  });
  after(async () => {
    await gw.stop();
    tlsUpstream.closeAllConnections();
    await new Promise((resolve) => tlsUpstream.close(resolve));
  });

  /** GET over TLS to the gateway's listener, Host api.example.com (the route's host). */
  function get(path: string, token?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; json(): Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1', port: Number(new URL(gw.url).port), path, servername: 'localhost', ca: pki.caPem, agent: false,
        headers: { host: 'api.example.com', ...(token ? bearer(token) : {}), ...headers },
      }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => resolve({ status: res.statusCode ?? 0, body, json: () => JSON.parse(body) as Record<string, unknown> }));
      });
      req.on('error', reject).end();
    });
  }

  it('a v2.0 managed identity token (aud = the API client id, roles, no scp) is forwarded with a verifiable assertion', async () => {
    const token = await keys.sign(entra.v2App({ tid: TENANT_ID, aud: API_CLIENT_ID, azp: MI_APP_ID, oid: MI_OID, roles: ['Metrics.Read'] }), { typ: 'JWT' });
    const res = await get('/metrics/daily', token, { 'x-forwarded-for': '10.1.2.3', 'x-gatehouse-subject': 'admin' });
    assert.equal(res.status, 200, res.body);
    const h = received.at(-1)!.headers;
    assert.equal(h['x-gatehouse-subject'], MI_OID, 'the subject is the identity\'s object id, not what the client sent');
    assert.equal(h['x-gatehouse-client-id'], MI_APP_ID);
    assert.equal(h['x-gatehouse-tenant'], TENANT_ID);
    const jwks = await (await fetch(`${gw.adminUrl}/.well-known/jwks.json`)).json() as JSONWebKeySet;
    const { payload } = await jwtVerify(String(h['x-gatehouse-assertion']), createLocalJWKSet(jwks), { audience: 'metrics-export' });
    assert.equal(payload.sub, MI_OID);
    assert.deepEqual(payload.roles, ['Metrics.Read']);
    assert.equal(payload.idp_iss, entra.v2Issuer(TENANT_ID));
    // 127.0.0.1 is not in trustedProxies (10.0.0.0/8): its X-Forwarded-For is not believed.
    const line = await gw.auditLine((l) => (l.identity as { subject?: string } | null)?.subject === MI_OID);
    assert.equal(line?.client_address, '127.0.0.1');
  });

  it('a v1.0 managed identity token (aud = the App ID URI api://<client id>, appid) is accepted too', async () => {
    const token = await keys.sign(entra.v1ManagedIdentity({ tid: TENANT_ID, aud: `api://${API_CLIENT_ID}`, appid: MI_APP_ID, oid: MI_OID, roles: ['Metrics.Read'] }), { typ: 'JWT', x5t: keys.kid });
    const res = await get('/metrics/daily', token);
    assert.equal(res.status, 200, res.body);
    assert.equal(received.at(-1)!.headers['x-gatehouse-client-id'], MI_APP_ID);
  });

  it('refuses the managed identity without the app role (403), a guest user (403), another resource, another tenant, no token', async () => {
    const noRole = await get('/metrics/daily', await keys.sign(entra.v2App({ tid: TENANT_ID, aud: API_CLIENT_ID, azp: MI_APP_ID, oid: MI_OID })));
    assert.deepEqual([noRole.status, noRole.json().code], [403, 'no_rule_matched']);
    const guest = await get('/metrics/daily', await keys.sign(entra.v2User({ tid: TENANT_ID, aud: API_CLIENT_ID, oid: randomUUID(), scp: 'Metrics.Read', roles: ['Metrics.Read'], acct: 1 })));
    assert.deepEqual([guest.status, guest.json().code], [403, 'denied_by_rule']);
    // A pipeline that asked for the wrong resource (Azure Resource Manager) gets a token for it.
    const arm = await get('/metrics/daily', await keys.sign(entra.v1ManagedIdentity({ tid: TENANT_ID, aud: 'https://management.azure.com/', appid: MI_APP_ID, oid: MI_OID, roles: ['Metrics.Read'] }), { x5t: keys.kid }));
    assert.deepEqual([arm.status, arm.json().code], [401, 'audience_mismatch']);
    const stranger = randomUUID();
    const other = await get('/metrics/daily', await keys.sign(entra.v2App({ tid: stranger, aud: API_CLIENT_ID, azp: MI_APP_ID, oid: MI_OID, roles: ['Metrics.Read'] })));
    assert.deepEqual([other.status, other.json().code, other.json().detail], [401, 'issuer_unknown', `tenant ${stranger} is not accepted by this provider`]);
    const none = await get('/metrics/daily');
    assert.deepEqual([none.status, none.json().code], [401, 'token_missing']);
    assert.equal(none.json().type, 'urn:gatehouse:error:token_missing', 'problem types are URNs naming the code (docs/errors.md)');
    const errorsDoc = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
    for (const c of ['token_missing', 'no_rule_matched', 'denied_by_rule', 'audience_mismatch', 'issuer_unknown']) assert.ok(errorsDoc.includes(`| \`${c}\` |`), c);
  });
});

describe('examples/entra-data-factory.yaml (oidc-presets.md: app roles for a managed identity)', () => {
  const TID = '4b0911a0-929b-4715-944b-c03745165b3a';
  const API = '6e74172b-be56-4843-9ff4-e66a39bb12e3';
  let gw: TestGateway;
  before(async () => { gw = await example('entra-data-factory.yaml', ['http://metrics:8080']); });
  after(() => gw.stop());

  it('v1.0 (aud api://metrics) and v2.0 (aud = client id) managed identity tokens pass by role; without it 403', async () => {
    const oid = randomUUID();
    const v1 = await rawRequest(gw.url, 'GET', '/metrics/x', bearer(await keys.sign(entra.v1ManagedIdentity({ tid: TID, aud: 'api://metrics', appid: randomUUID(), oid, roles: ['Metrics.Read'] }), { x5t: keys.kid })));
    assert.equal(v1.status, 200, v1.body);
    assert.equal(seen()['x-gatehouse-subject'], oid);
    assert.equal(seen()['x-gatehouse-scopes'] ?? '', '', 'managed identities carry no scp');
    const v2 = await rawRequest(gw.url, 'GET', '/metrics/x', bearer(await keys.sign(entra.v2App({ tid: TID, aud: API, azp: randomUUID(), oid, roles: ['Metrics.Read'] }))));
    assert.equal(v2.status, 200, v2.body);
    const none = await rawRequest(gw.url, 'GET', '/metrics/x', bearer(await keys.sign(entra.v2App({ tid: TID, aud: API, azp: randomUUID(), oid }))));
    assert.deepEqual([none.status, code(none)], [403, 'no_rule_matched']);
  });
});

describe('examples/entra-multi-tenant.yaml (oidc-presets.md: multi-tenant app)', () => {
  const A = '9f3c2e71-5d1a-4c8e-b6a2-0e7d4f1c9b84';
  const B = '0d8e7f6a-5b4c-4d3e-a2f1-e0d9c8b7a6f5';
  const API = '6e74172b-be56-4843-9ff4-e66a39bb12e3';
  let gw: TestGateway;
  before(async () => { gw = await example('entra-multi-tenant.yaml', ['http://metrics:8080']); });
  after(() => gw.stop());

  it('the listed tenants pass (v2.0 and v1.0 tokens); any other tenant is issuer_unknown', async () => {
    const app = (tid: string): Promise<string> => keys.sign(entra.v2App({ tid, aud: API, azp: randomUUID(), oid: randomUUID(), roles: ['Metrics.Read'] }));
    const a = await rawRequest(gw.url, 'GET', '/partners/daily', bearer(await app(A)));
    assert.equal(a.status, 200, a.body);
    assert.equal(seen()['x-gatehouse-tenant'], A);
    const b = await rawRequest(gw.url, 'GET', '/partners/daily', bearer(await keys.sign(entra.v1ManagedIdentity({ tid: B, aud: 'api://metrics', appid: randomUUID(), oid: randomUUID(), roles: ['Metrics.Read'] }))));
    assert.equal(b.status, 200, b.body);
    const stranger = randomUUID();
    const c = await rawRequest(gw.url, 'GET', '/partners/daily', bearer(await app(stranger)));
    assert.deepEqual([c.status, code(c), c.json().detail], [401, 'issuer_unknown', `tenant ${stranger} is not accepted by this provider`]);
  });
});

describe('examples/okta.yaml', () => {
  const ISS = 'https://dev-123456.okta.com/oauth2/default';
  let gw: TestGateway;
  before(async () => { gw = await example('okta.yaml', ['http://orders.internal:8080']); });
  after(() => gw.stop());

  it('a user token (subject uid) and a client-credentials token (subject = client id) with orders.read pass', async () => {
    const user = await rawRequest(gw.url, 'GET', '/orders/1', bearer(await keys.sign(okta.user({ iss: ISS, aud: 'api://default', cid: '0oa1b2c3d4e5f6g7h8i9', uid: '00u1a2b3c4d5e6f7g8h9', login: 'alice@example.com', scp: ['openid', 'orders.read'] }))));
    assert.equal(user.status, 200, user.body);
    assert.equal(seen()['x-gatehouse-subject'], '00u1a2b3c4d5e6f7g8h9');
    assert.equal(seen()['x-gatehouse-client-id'], '0oa1b2c3d4e5f6g7h8i9');
    const client = await rawRequest(gw.url, 'GET', '/orders/1', bearer(await keys.sign(okta.client({ iss: ISS, aud: 'api://default', cid: '0oaBatchClient12345', scp: ['orders.read'] }))));
    assert.equal(client.status, 200, client.body);
    assert.equal(seen()['x-gatehouse-subject'], '0oaBatchClient12345');
  });

  it('refuses a token without the scope (403) and one of the org authorization server (401 issuer_unknown)', async () => {
    const noScope = await rawRequest(gw.url, 'GET', '/orders/1', bearer(await keys.sign(okta.client({ iss: ISS, aud: 'api://default', cid: '0oaBatchClient12345', scp: ['orders.write'] }))));
    assert.deepEqual([noScope.status, code(noScope)], [403, 'no_rule_matched']);
    const org = await rawRequest(gw.url, 'GET', '/orders/1', bearer(await keys.sign(okta.client({ iss: 'https://dev-123456.okta.com', aud: 'https://dev-123456.okta.com', cid: '0oaBatchClient12345', scp: ['orders.read'] }))));
    assert.deepEqual([org.status, code(org)], [401, 'issuer_unknown']);
  });
});

describe('examples/cognito.yaml', () => {
  const ISS = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123';
  const CLIENT = '57cbishk4j24pabc1234567890';
  let gw: TestGateway;
  before(async () => { gw = await example('cognito.yaml', ['http://orders.internal:8080']); });
  after(() => gw.stop());

  it('a user access token in group staff and a machine token with orders/read pass', async () => {
    const sub = randomUUID();
    const user = await rawRequest(gw.url, 'GET', '/orders/1', bearer(await keys.sign(cognito.access({ iss: ISS, clientId: CLIENT, sub, groups: ['staff'], scope: 'aws.cognito.signin.user.admin', username: 'alice' }))));
    assert.equal(user.status, 200, user.body);
    assert.equal(seen()['x-gatehouse-subject'], sub);
    assert.equal(seen()['x-gatehouse-roles'], 'staff');
    const machine = await rawRequest(gw.url, 'GET', '/orders/1', bearer(await keys.sign(cognito.access({ iss: ISS, clientId: CLIENT, sub: CLIENT, scope: 'orders/read' }))));
    assert.equal(machine.status, 200, machine.body);
  });

  it('refuses an ID token (claim_invalid), another app client (audience_mismatch), and a user outside the groups (403)', async () => {
    const id = await rawRequest(gw.url, 'GET', '/orders/1', bearer(await keys.sign(cognito.id({ iss: ISS, clientId: CLIENT, sub: randomUUID(), groups: ['staff'], email: 'alice@example.com' }))));
    assert.deepEqual([id.status, code(id)], [401, 'claim_invalid']);
    const other = await rawRequest(gw.url, 'GET', '/orders/1', bearer(await keys.sign(cognito.access({ iss: ISS, clientId: '1h2g3f4e5d6c7b8a9z0y1x2w3v', sub: randomUUID(), groups: ['staff'], scope: 'openid' }))));
    assert.deepEqual([other.status, code(other)], [401, 'audience_mismatch']);
    const outsider = await rawRequest(gw.url, 'GET', '/orders/1', bearer(await keys.sign(cognito.access({ iss: ISS, clientId: CLIENT, sub: randomUUID(), groups: ['guests'], scope: 'openid' }))));
    assert.deepEqual([outsider.status, code(outsider)], [403, 'no_rule_matched']);
  });
});

describe('examples/auth0.yaml', () => {
  const ISS = 'https://example.eu.auth0.com/';
  let gw: TestGateway;
  before(async () => { gw = await example('auth0.yaml', ['http://orders.internal:8080']); });
  after(() => gw.stop());

  it('a user with the namespaced admin role and a client-credentials token with read:orders pass', async () => {
    const user = await rawRequest(gw.url, 'GET', '/orders/1', bearer(await keys.sign(auth0.user({
      iss: ISS, aud: ['https://api.example.com', 'https://example.eu.auth0.com/userinfo'], azp: 'spaClient123', sub: 'auth0|64f1c2d3e4f5a6b7c8d9e0f1',
      scope: 'openid profile email', permissions: [], extra: { 'https://example.com/roles': ['admin'] },
    }))));
    assert.equal(user.status, 200, user.body);
    assert.equal(seen()['x-gatehouse-roles'], 'admin');
    const machine = await rawRequest(gw.url, 'GET', '/orders/1', bearer(await keys.sign(auth0.machine({ iss: ISS, aud: 'https://api.example.com', clientId: 'm2mClient456', scope: 'read:orders', permissions: ['read:orders'] }))));
    assert.equal(machine.status, 200, machine.body);
    assert.equal(seen()['x-gatehouse-subject'], 'm2mClient456@clients');
  });

  it('refuses a user without the role (403) and a token for another API (401 audience_mismatch)', async () => {
    const plain = await rawRequest(gw.url, 'GET', '/orders/1', bearer(await keys.sign(auth0.user({ iss: ISS, aud: ['https://api.example.com'], azp: 'spaClient123', sub: 'auth0|abc', scope: 'openid read:orders', permissions: ['read:orders'] }))));
    assert.deepEqual([plain.status, code(plain)], [403, 'no_rule_matched']);
    const other = await rawRequest(gw.url, 'GET', '/orders/1', bearer(await keys.sign(auth0.machine({ iss: ISS, aud: 'https://billing.example.com', clientId: 'm2mClient456', scope: 'read:orders', permissions: [] }))));
    assert.deepEqual([other.status, code(other)], [401, 'audience_mismatch']);
  });
});

describe('examples/keycloak.yaml', () => {
  const ISS = 'https://sso.example.com/realms/acme';
  let gw: TestGateway;
  before(async () => { gw = await example('keycloak.yaml', ['http://orders.internal:8080']); });
  after(() => gw.stop());
  const realmRoles = ['offline_access', 'uma_authorization', 'default-roles-acme'];

  it('an access token with the orders-api client role passes; roles of other clients do not count', async () => {
    const ok = await rawRequest(gw.url, 'GET', '/orders/1', bearer(await keys.sign(keycloak.token({
      iss: ISS, typ: 'Bearer', aud: ['orders-api', 'account'], azp: 'orders-web', sub: randomUUID(), realmRoles,
      clientRoles: { 'orders-api': ['orders.read'], account: ['manage-account', 'view-profile'] },
    }))));
    assert.equal(ok.status, 200, ok.body);
    const elsewhere = await rawRequest(gw.url, 'GET', '/orders/1', bearer(await keys.sign(keycloak.token({
      iss: ISS, typ: 'Bearer', aud: ['orders-api', 'account'], azp: 'orders-web', sub: randomUUID(), realmRoles, clientRoles: { account: ['orders.read'] },
    }))));
    assert.deepEqual([elsewhere.status, code(elsewhere)], [403, 'no_rule_matched']);
  });

  it('refuses an ID token (typ ID) with claim_invalid', async () => {
    const id = await rawRequest(gw.url, 'GET', '/orders/1', bearer(await keys.sign(keycloak.token({
      iss: ISS, typ: 'ID', aud: 'orders-api', azp: 'orders-api', sub: randomUUID(), realmRoles, clientRoles: { 'orders-api': ['orders.read'] },
    }))));
    assert.deepEqual([id.status, code(id)], [401, 'claim_invalid']);
  });
});

describe('examples/google.yaml', () => {
  const AUD = '1234987819200-okl8fq2mnjfa5lm8n5jb8v1vsq7mhsj4.apps.googleusercontent.com';
  let gw: TestGateway;
  before(async () => { gw = await example('google.yaml', ['http://reports.internal:8080']); });
  after(() => gw.stop());

  it('a verified Workspace user of example.com passes (either iss form)', async () => {
    for (const iss of ['https://accounts.google.com', 'accounts.google.com']) {
      const res = await rawRequest(gw.url, 'GET', '/reports/q3', bearer(await keys.sign(google.user({ iss, aud: AUD, sub: '110169484474386276334', email: 'alice@example.com', hd: 'example.com' }))));
      assert.equal(res.status, 200, res.body);
      assert.equal(seen()['x-gatehouse-tenant'], 'example.com');
    }
  });

  it('refuses a consumer account, a service account (no hd) and an unverified address with claim_invalid', async () => {
    for (const claims of [
      google.user({ aud: AUD, sub: '104242424242424242424', email: 'someone@gmail.com' }),
      google.serviceAccount({ aud: AUD, email: 'reports@project.iam.gserviceaccount.com', sub: '113456789012345678901' }),
      google.user({ aud: AUD, sub: '110169484474386276334', email: 'alice@example.com', hd: 'example.com', emailVerified: false }),
      google.user({ aud: AUD, sub: '110169484474386276335', email: 'bob@other.example', hd: 'other.example' }),
    ]) {
      const res = await rawRequest(gw.url, 'GET', '/reports/q3', bearer(await keys.sign(claims)));
      assert.deepEqual([res.status, code(res)], [401, 'claim_invalid'], JSON.stringify(claims));
    }
  });
});

describe('examples/limits-data-factory.yaml (limits.md: a per-pipeline limit)', () => {
  const TENANT_ID = randomUUID();
  const API_CLIENT_ID = randomUUID();
  let gw: TestGateway;
  before(async () => { gw = await example('limits-data-factory.yaml', ['https://metrics.internal:8443'], { TENANT_ID, API_CLIENT_ID }); });
  after(() => gw.stop());

  it('each pipeline (client id) gets its own burst of 50; v1.0 and v2.0 tokens of one identity share it', async () => {
    const pipeline = randomUUID();
    const v2 = await keys.sign(entra.v2App({ tid: TENANT_ID, aud: API_CLIENT_ID, azp: pipeline, oid: randomUUID(), roles: ['Metrics.Read'] }));
    const start = Date.now();
    for (let i = 0; i < 50; i++) {
      const res = await rawRequest(gw.url, 'GET', '/metrics/daily', bearer(v2));
      assert.equal(res.status, 200, `request ${i + 1}: ${res.body}`);
      if (i === 0) assert.match(String(res.headers['ratelimit-policy']), /"per-pipeline";q=50/);
    }
    // 60 more at once, with the v1.0 token of the same identity: only what 20/s refilled meanwhile gets through.
    const v1 = await keys.sign(entra.v1ManagedIdentity({ tid: TENANT_ID, aud: `api://${API_CLIENT_ID}`, appid: pipeline, oid: randomUUID(), roles: ['Metrics.Read'] }));
    const more = await Promise.all(Array.from({ length: 60 }, () => rawRequest(gw.url, 'GET', '/metrics/daily', bearer(v1))));
    const refilled = Math.ceil(((Date.now() - start) / 1000) * 20) + 1;
    const passed = more.filter((r) => r.status === 200).length;
    assert.ok(passed <= refilled, `${passed} of 60 passed beyond the burst; at most ${refilled} refilled`);
    const refused = more.find((r) => r.status !== 200);
    assert.ok(refused, 'the burst is spent');
    assert.deepEqual([refused.status, code(refused)], [429, 'rate_limited']);
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    const other = await rawRequest(gw.url, 'GET', '/metrics/daily', bearer(await keys.sign(entra.v2App({ tid: TENANT_ID, aud: API_CLIENT_ID, azp: randomUUID(), oid: randomUUID(), roles: ['Metrics.Read'] }))));
    assert.equal(other.status, 200, 'another pipeline is not starved');
  });
});

describe('examples/limits-redis-fleet.yaml (limits.md: a fleet on Redis)', async () => {
  const run = await redisAvailable();
  const TENANT_ID = randomUUID();
  const API_CLIENT_ID = randomUUID();
  const token = (): Promise<string> => keys.sign(entra.v2App({ tid: TENANT_ID, aud: API_CLIENT_ID, azp: randomUUID(), oid: randomUUID(), roles: ['Events.Write'] }));
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  after(async () => {
    if (run) {
      const found = await redis.keys(`gatehouse:*${TENANT_ID}*`);
      if (found.length > 0) await redis.del(...found);
    }
    redis.disconnect();
  });

  it('the per-tenant budget lives in Redis, where every replica reads it', { skip: !run }, async () => {
    const gw = await example('limits-redis-fleet.yaml', ['http://ingest:8080'], { TENANT_ID, API_CLIENT_ID, REDIS_URL });
    try {
      // Until the gateway's Redis connection is up, fail: open serves from the local limiter: retry a little.
      let stored: string[] = [];
      for (const deadline = Date.now() + 5000; stored.length === 0 && Date.now() < deadline;) {
        const res = await rawRequest(gw.url, 'POST', '/events', bearer(await token()), '{}');
        assert.equal(res.status, 200, res.body);
        stored = await redis.keys(`gatehouse:*per-tenant*${TENANT_ID}*`);
        if (stored.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(stored.length > 0, 'a Redis key for this tenant\'s per-tenant budget');
    } finally {
      await gw.stop();
    }
  });

  it('fail: open keeps serving when Redis cannot be reached', async () => {
    const closed = createNetServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const gw = await example('limits-redis-fleet.yaml', ['http://ingest:8080'], { TENANT_ID, API_CLIENT_ID, REDIS_URL: `redis://127.0.0.1:${port}` });
    try {
      const res = await rawRequest(gw.url, 'POST', '/events', bearer(await token()), '{}');
      assert.equal(res.status, 200, res.body);
    } finally {
      await gw.stop();
    }
  });
});
