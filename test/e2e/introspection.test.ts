import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startOidcProvider, type TestOidcProvider } from '../harness/oidc-provider.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { rawRequest, type RawResponse } from '../harness/http.js';

// Opaque access tokens from a real OP (oidc-provider), checked by the gateway at the OP's real
// RFC 7662 introspection endpoint; revoked at its real RFC 7009 revocation endpoint.
let op: TestOidcProvider;
let upstream: TestUpstream;
let gw: TestGateway;
let secrets: string;
const CACHE_TTL_MS = 2000;
const ENV = 'GATEHOUSE_TEST_INTROSPECTION_SECRET';

before(async () => {
  op = await startOidcProvider();
  upstream = await startUpstream();
  secrets = mkdtempSync(join(tmpdir(), 'gatehouse-introspection-'));
  writeFileSync(join(secrets, 'secret'), `${op.introspection.clientSecret}\n`);
  process.env[ENV] = op.introspection.clientSecret;
  const { endpoint, clientId } = op.introspection;
  const fixed = { type: 'introspection', endpoint, clientId, clientSecret: `\${env:${ENV}}`, cacheTtl: '0s' };
  gw = await startGateway({
    providers: {
      jwt: { type: 'oidc', issuer: op.issuer, audience: op.audience },
      // Discovery from the issuer, the secret from a file, results cached for CACHE_TTL_MS.
      opaque: { type: 'introspection', issuer: op.issuer, clientId, clientSecret: `\${file:${join(secrets, 'secret')}}`, audience: op.opaqueAudience, cacheTtl: `${CACHE_TTL_MS}ms` },
      fresh: fixed,
      post: { ...fixed, clientId: op.clientId, clientSecret: op.clientSecret, clientAuth: 'client_secret_post' },
      wrong: { ...fixed, clientSecret: 'not-the-secret' },
      elsewhere: { ...fixed, audience: 'api://elsewhere' },
    },
    routes: [
      { name: 'api', match: { path: '/api/*' }, authenticate: ['jwt', 'opaque'], allow: [{ name: 'readers', scopes: ['read'] }], upstream: { url: upstream.url } },
      ...['fresh', 'post', 'wrong', 'elsewhere'].map((p) => ({ name: p, match: { path: `/${p}/*` }, authenticate: [p], upstream: { url: upstream.url } })),
    ],
  });
});
after(async () => {
  await gw.stop();
  await upstream.close();
  await op.stop().catch(() => undefined);
  rmSync(secrets, { recursive: true, force: true });
  delete process.env[ENV];
});

const get = (path: string, token?: string): Promise<RawResponse> => rawRequest(gw.url, 'GET', path, token ? { authorization: `Bearer ${token}` } : {});
const opaqueToken = (scope = 'read'): Promise<string> => op.clientCredentialsToken({ resource: op.opaqueAudience, scope });

function refused(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, res.body);
  assert.equal(res.headers['content-type'], 'application/problem+json');
  assert.equal(res.json().code, code);
}

test('an opaque client-credentials token from the real OP passes; identity comes from introspection', async () => {
  const token = await opaqueToken();
  assert.equal(token.split('.').length, 1, 'the OP issued an opaque token');
  const res = await get('/api/orders', token);
  assert.equal(res.status, 200, res.body);
  const seen = upstream.seen.at(-1)!.headers;
  assert.equal(seen['x-gatehouse-provider'], 'opaque');
  assert.equal(seen['x-gatehouse-auth-method'], 'introspection');
  assert.equal(seen['x-gatehouse-subject'], op.clientId, 'client-credentials tokens have no sub: the client id stands in');
  assert.equal(seen['x-gatehouse-client-id'], op.clientId);
  assert.equal(seen['x-gatehouse-scopes'], 'read');
  assert.equal(seen['x-gatehouse-issuer'], op.issuer);
  const line = await gw.auditLine((l) => (l.identity as { provider?: string } | null)?.provider === 'opaque');
  assert.deepEqual(line?.decision, { allow: true, rule: 'readers', reason: 'allowed' });
  assert.equal(JSON.stringify(line).includes(token), false, 'the token never appears in audit');
  const ready = await fetch(`${gw.adminUrl}/readyz`);
  assert.equal(ready.status, 200, 'discovery found the introspection endpoint');
});

test('JWT and opaque tokens share a route: JWTs are verified locally, opaque ones introspected', async () => {
  const jwt = await op.clientCredentialsToken({ scope: 'read' });
  assert.equal((await get('/api/x', jwt)).status, 200);
  assert.equal(upstream.seen.at(-1)!.headers['x-gatehouse-provider'], 'jwt');
  assert.equal((await get('/api/x', await opaqueToken())).status, 200);
  assert.equal(upstream.seen.at(-1)!.headers['x-gatehouse-provider'], 'opaque');
  refused(await get('/api/x', await opaqueToken('write')), 403, 'no_rule_matched');
});

test('client_secret_post works as well as client_secret_basic', async () => {
  assert.equal((await get('/post/x', await opaqueToken())).status, 200);
  assert.equal((await get('/fresh/x', await opaqueToken())).status, 200);
});

test('revocation: an uncached check says inactive at once; a cached result holds until cacheTtl', async () => {
  const token = await opaqueToken();
  assert.equal((await get('/api/x', token)).status, 200, 'introspected and cached');
  assert.equal((await get('/fresh/x', token)).status, 200);
  const started = Date.now();
  await op.revoke(token);
  refused(await get('/fresh/x', token), 401, 'token_inactive');
  const cached = await get('/api/x', token);
  assert.ok(Date.now() - started < CACHE_TTL_MS, 'still inside cacheTtl');
  assert.equal(cached.status, 200, 'served from the cache after revocation');
  await sleep(CACHE_TTL_MS + 100);
  refused(await get('/api/x', token), 401, 'token_inactive');
  refused(await get('/api/x', 'never-issued-by-anyone'), 401, 'token_inactive');
});

test('a token for another audience is refused', async () => {
  refused(await get('/elsewhere/x', await opaqueToken()), 401, 'audience_mismatch');
});

test('a wrong client secret for the gateway fails closed: 503 introspection_failed', async () => {
  refused(await get('/wrong/x', await opaqueToken()), 503, 'introspection_failed');
  const line = await gw.auditLine((l) => (l.authn as { reason?: string }).reason === 'introspection_failed');
  assert.equal(line?.status, 503);
  assert.equal(line?.upstream, null);
});

test('OP stopped: uncached tokens get 503 introspection_failed, cached ones keep passing until cacheTtl', async () => {
  const cached = await opaqueToken();
  const uncached = await opaqueToken();
  assert.equal((await get('/api/x', cached)).status, 200);
  await op.stop();
  assert.equal((await get('/api/x', cached)).status, 200);
  refused(await get('/api/x', uncached), 503, 'introspection_failed');
  refused(await get('/fresh/x', cached), 503, 'introspection_failed');
});
