// The audit line traces a call from the caller to the backend (issue 10, item 8): query (redacted),
// the path actually sent upstream, the upstream's status, and who a refused token claimed to be.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { rawRequest } from '../harness/http.js';

let upstream: TestUpstream;
let gw: TestGateway;

before(async () => {
  upstream = await startUpstream((req, res) => {
    if (req.url?.includes('/fail')) return void res.writeHead(503).end('down');
    res.end('ok');
  });
  gw = await startGateway({
    dev: true,
    routes: [
      { name: 'reports', match: { path: '/api/*' }, public: true, upstream: { url: `${upstream.url}/v1`, stripPrefix: '/api' } },
      { name: 'secured', match: { path: '/secured/*' }, authenticate: ['dev'], upstream: { url: upstream.url } },
    ],
  });
});
after(async () => { await gw.stop(); await upstream.close(); });

test('query recorded with signature and token values redacted; the rewritten upstream path and its status', async () => {
  const query = 'X-Amz-Signature=sig0123abcd&page=2&access_token=tok-secret-1&code=authz-code-9&x-amz-credential=AKIDEXAMPLE%2F20260101';
  const res = await rawRequest(gw.url, 'GET', `/api/orders/7?${query}`);
  assert.equal(res.status, 200);
  assert.equal(upstream.seen.at(-1)!.url, `/v1/orders/7?${query}`, 'the upstream still gets the whole query');
  const line = await gw.auditLine((l) => l.route === 'reports' && l.status === 200);
  assert.equal(line?.query, 'X-Amz-Signature=REDACTED&page=2&access_token=REDACTED&code=REDACTED&x-amz-credential=REDACTED');
  assert.equal(line?.path, '/api/orders/7');
  assert.equal(line?.upstream_path, '/v1/orders/7');
  assert.equal(line?.upstream_status, 200);
  const file = readFileSync(join(gw.dir, 'audit.log'), 'utf8');
  for (const secret of ['sig0123abcd', 'tok-secret-1', 'authz-code-9', 'AKIDEXAMPLE']) assert.ok(!file.includes(secret), `${secret} never written`);
});

test('an upstream 5xx is audited with an error code, and the client still gets the upstream answer', async () => {
  const res = await rawRequest(gw.url, 'GET', '/api/fail');
  assert.equal(res.status, 503);
  assert.equal(res.body, 'down');
  const line = await gw.auditLine((l) => l.upstream_path === '/v1/fail');
  assert.equal(line?.status, 503);
  assert.equal(line?.upstream_status, 503);
  assert.equal(line?.error, 'upstream_server_error');
});

test('a refused token: the issuer and tenant it claims, marked unverified; never the token', async () => {
  const dev = gw.gateway.ref.current.devIssuer!;
  const token = await dev.sign({ sub: 'mallory', aud: 'someone-else', extra: { tid: 'tenant-42' } });
  const res = await rawRequest(gw.url, 'GET', '/secured/x', { authorization: `Bearer ${token}` });
  assert.equal(res.status, 401);
  const line = await gw.auditLine((l) => l.route === 'secured');
  assert.deepEqual(line?.authn, { result: 'refused', reason: 'audience_mismatch', provider: 'dev', unverified: { issuer: dev.issuer, tenant: 'tenant-42' } });
  assert.equal(line?.identity, null, 'an unverified claim is never an identity');
  assert.ok(!readFileSync(join(gw.dir, 'audit.log'), 'utf8').includes(token.split('.')[2]!), 'the token is never written');
});

test('audit.query: false records no query; audit.redactQuery adds names', async () => {
  for (const [audit, expected] of [[{ query: false }, null], [{ redactQuery: ['Page'] }, 'page=REDACTED&sort=asc']] as const) {
    const g = await startGateway({ routes: [{ name: 'r', match: { path: '/*' }, public: true, upstream: { url: upstream.url } }], audit });
    try {
      await rawRequest(g.url, 'GET', '/x?page=3&sort=asc');
      const line = await g.auditLine((l) => l.route === 'r');
      assert.equal(line?.query, expected);
    } finally {
      await g.stop();
    }
  }
});
