import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { rawRequest } from '../harness/http.js';

// A protected /admin prefix next to a public catch-all: every trick that makes /admin reach the
// upstream through the public route (or unauthenticated) must be refused or land on the admin route.
let upstream: TestUpstream;
let gw: TestGateway;
let adminToken: string;
let readerToken: string;

before(async () => {
  upstream = await startUpstream();
  gw = await startGateway({
    dev: true,
    routes: [
      { name: 'admin', match: { path: '/admin/*' }, authenticate: ['dev'], allow: [{ roles: ['admin'] }], upstream: { url: upstream.url } },
      { name: 'public', match: { path: '/*' }, public: true, upstream: { url: upstream.url } },
    ],
  });
  const dev = gw.gateway.ref.current.devIssuer!;
  adminToken = await dev.sign({ sub: 'root', roles: ['admin'] });
  readerToken = await dev.sign({ sub: 'bob', roles: ['reader'] });
});
after(async () => { await gw.stop(); await upstream.close(); });

const ATTEMPTS: [string, number | 'admin'][] = [
  ['/admin', 'admin'],
  ['/admin/', 'admin'],
  ['/admin/users', 'admin'],
  ['/admin/../admin/users', 'admin'],
  ['/public/../admin/users', 'admin'],
  ['/%61dmin/users', 'admin'],
  ['/adm%69n', 'admin'],
  ['//admin/users', 'admin'],
  ['///admin', 'admin'],
  ['/./admin/users', 'admin'],
  ['/admin/./users', 'admin'],
  ['/public/%2e%2e/admin/users', 'admin'],
  ['/public/%2E%2E/admin', 'admin'],
  ['/x/y/../../admin', 'admin'],
  ['/admin;x/users', 400],
  ['/admin/users;jsessionid=1', 400],
  ['/%2e%2e/admin', 400],
  ['/../admin', 400],
  ['/public/..%2fadmin', 400],
  ['/public%2F..%2Fadmin', 400],
  ['/admin%00/users', 400],
  ['/admin\\..\\public', 400],
  ['/public/%c0%ae%c0%ae/admin', 400],
  ['/admin%', 400],
  ['/admin%zz', 400],
];

test('path normalization: every bypass attempt is refused or routed to the admin policy', async () => {
  for (const [path, expected] of ATTEMPTS) {
    const before = upstream.seen.length;
    const res = await rawRequest(gw.url, 'GET', path);
    if (expected === 'admin') {
      // Without a token the admin route refuses: the request met the admin policy.
      assert.equal(res.status, 401, `${path} → ${res.status} ${res.body}`);
      assert.equal(res.json().code, 'token_missing', path);
      const reader = await rawRequest(gw.url, 'GET', path, { authorization: `Bearer ${readerToken}` });
      assert.equal(reader.status, 403, `${path} with reader token → ${reader.status}`);
    } else {
      assert.equal(res.status, expected, `${path} → ${res.status} ${res.body}`);
      assert.equal(res.headers['content-type'], 'application/problem+json', path);
    }
    assert.equal(upstream.seen.length, before, `${path} reached the upstream`);
  }
});

test('an allowed request is forwarded with the same normalized path the route matched', async () => {
  const res = await rawRequest(gw.url, 'GET', '/public/../%61dmin//users/./x?q=%2F1', { authorization: `Bearer ${adminToken}` });
  assert.equal(res.status, 200, res.body);
  assert.equal(upstream.seen.at(-1)!.url, '/admin/users/x?q=%2F1');
});

test('absolute-form targets are normalized and routed the same way', async () => {
  const res = await rawRequest(gw.url, 'GET', 'http://evil.example/%61dmin/users');
  assert.equal(res.status, 401);
});

test('paths are case-sensitive: /ADMIN is not /admin and reaches the public route as /ADMIN', async () => {
  const res = await rawRequest(gw.url, 'GET', '/%41DMIN');
  assert.equal(res.status, 200);
  assert.equal(upstream.seen.at(-1)!.url, '/ADMIN');
});

test('audit records the normalized path and the refusal reason', async () => {
  await rawRequest(gw.url, 'GET', '/public/%2e%2e/admin/audit-check');
  const line = await gw.auditLine((l) => l.path === '/admin/audit-check');
  assert.ok(line, 'audit line for the normalized path');
  assert.equal(line.route, 'admin');
  assert.deepEqual(line.authn, { result: 'refused', reason: 'token_missing' });
  assert.equal(line.status, 401);
  assert.ok(Number(line.bytes_out) > 100, 'the problem body is counted');
});
