// Outbound credential `oauth2`: the gateway's own access token (client credentials grant) from the
// real in-process oidc-provider, presented to a real upstream that verifies it at the OP's JWKS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import pino from 'pino';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startOidcProvider, type TestOidcProvider } from '../harness/oidc-provider.js';
import { startBearerUpstream, type BearerUpstream } from '../harness/bearer-upstream.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { rawRequest } from '../harness/http.js';

let op: TestOidcProvider;
let upstream: BearerUpstream;
let recorder: TestUpstream;
let gw: TestGateway;
const logs: string[] = [];
const dir = mkdtempSync(join(tmpdir(), 'gh-cred-oauth2-'));
const SECRET = `s3cret-${Math.random().toString(36).slice(2)}-made-at-test-time`;

before(async () => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  writeFileSync(join(dir, 'client-secret'), `${SECRET}\n`);
  writeFileSync(join(dir, 'client-key.pem'), await exportPKCS8(privateKey));
  const cc = { grant_types: ['client_credentials'], redirect_uris: [], response_types: [] };
  op = await startOidcProvider({
    clients: [
      { ...cc, client_id: 'gw-basic', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic' },
      { ...cc, client_id: 'gw-pkjwt', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'gw-1', alg: 'ES256', use: 'sig' }] } },
    ],
  });
  upstream = await startBearerUpstream(() => ({ issuer: op.issuer, jwksUri: `${op.issuer}/jwks`, audience: op.audience }));
  recorder = await startUpstream();
  const closed = await startUpstream();
  await closed.close();
  const log = pino({ level: 'debug' }, new Writable({ write(chunk: Buffer, _e, cb) { logs.push(chunk.toString()); cb(); } }));
  gw = await startGateway({
    upstreams: { 'basic-backend': { url: upstream.url, auth: [{ type: 'oauth2', tokenUrl: `${op.issuer}/token`, clientId: 'gw-basic', clientSecret: `\${file:${join(dir, 'client-secret')}}`, resource: op.audience }] } },
    routes: [
      { name: 'basic', match: { path: '/basic/*' }, public: true, upstream: { url: upstream.url, auth: [{ type: 'oauth2', tokenUrl: `${op.issuer}/token`, clientId: 'gw-basic', clientSecret: `\${file:${join(dir, 'client-secret')}}`, resource: op.audience }] } },
      // The same credential on a route naming a shared upstream (`upstreams:`): one client, one cache.
      { name: 'basic-again', match: { path: '/again/*' }, public: true, upstream: 'basic-backend' },
      { name: 'pkjwt', match: { path: '/pkjwt/*' }, public: true, upstream: { url: upstream.url, auth: [{ type: 'oauth2', issuer: op.issuer, clientId: 'gw-pkjwt', clientAuth: 'private_key_jwt', privateKey: `\${file:${join(dir, 'client-key.pem')}}`, keyId: 'gw-1', scope: 'read' }] } },
      { name: 'down', match: { path: '/down/*' }, public: true, upstream: { url: recorder.url, auth: [{ type: 'oauth2', tokenUrl: `${closed.url}/token`, clientId: 'gw-basic', clientSecret: `\${file:${join(dir, 'client-secret')}}` }] } },
    ],
  }, { log });
});
after(async () => { await gw.stop(); await upstream.close(); await recorder.close(); await op.stop(); });

test('the backend gets the gateway\'s token (verified at the OP\'s JWKS) instead of the caller\'s Authorization; the audit names client and endpoint', async () => {
  const res = await rawRequest(gw.url, 'GET', '/basic/x', { authorization: 'Bearer caller-forged' });
  assert.equal(res.status, 200, res.body);
  assert.equal(upstream.verified.at(-1)!.client_id, 'gw-basic');
  const pk = await rawRequest(gw.url, 'GET', '/pkjwt/x');
  assert.equal(pk.status, 200, pk.body);
  assert.equal(upstream.verified.at(-1)!.client_id, 'gw-pkjwt');
  assert.equal(upstream.verified.at(-1)!.scope, 'read');
  const line = await gw.auditLine((l) => l.route === 'basic');
  assert.deepEqual(line?.credentials, [{ kind: 'oauth2', client: 'gw-basic', token_url: `${op.issuer}/token` }]);
  const discovered = await gw.auditLine((l) => l.route === 'pkjwt');
  assert.deepEqual(discovered?.credentials, [{ kind: 'oauth2', client: 'gw-pkjwt', token_url: `${op.issuer}/token` }]);
});

test('one token request for many requests (fetched at start), and concurrent requests share it', async () => {
  const before = op.tokenRequests;
  const results = await Promise.all(Array.from({ length: 30 }, (_, i) => rawRequest(gw.url, 'GET', `/basic/${i}`)));
  assert.ok(results.every((r) => r.status === 200));
  assert.equal(op.tokenRequests - before, 0, 'served from the cache');
  assert.equal(new Set(upstream.verified.slice(-30).map((p) => p.jti)).size, 1, 'one token');
});

test('a route naming a shared upstream with the same credential config shares its token: no second fetch', async () => {
  const before = op.tokenRequests;
  assert.equal((await rawRequest(gw.url, 'GET', '/basic/1')).status, 200);
  const first = upstream.verified.at(-1)!.jti;
  assert.equal((await rawRequest(gw.url, 'GET', '/again/1')).status, 200);
  assert.equal(upstream.verified.at(-1)!.jti, first, 'the same token on both routes');
  assert.equal(op.tokenRequests - before, 0);
});

test('an unreachable token endpoint answers 503 upstream_credential_unavailable; nothing is sent upstream; the reason is in the audit only', async () => {
  const res = await rawRequest(gw.url, 'GET', '/down/x');
  assert.equal(res.status, 503);
  assert.equal(res.json().code, 'upstream_credential_unavailable');
  assert.ok(!res.body.includes('ECONNREFUSED') && !res.body.includes('127.0.0.1'), res.body);
  assert.equal(recorder.seen.length, 0);
  const line = await gw.auditLine((l) => l.route === 'down');
  assert.match(String(line?.error_detail), /^oauth2 client gw-basic at http:\/\/127\.0\.0\.1:\d+\/token: request failed \(ECONNREFUSED\)$/);
});

test('secrets and tokens never reach the audit, the log or a response', async () => {
  const audit = JSON.stringify(await gw.audit());
  const tokens = upstream.verified.map((p) => String(p.jti));
  for (const text of [audit, logs.join('')]) {
    assert.ok(!text.includes(SECRET), 'no client secret');
    assert.ok(!text.includes('BEGIN PRIVATE KEY'), 'no key');
    assert.ok(tokens.every((jti) => !text.includes(jti)), 'no access token');
  }
});
