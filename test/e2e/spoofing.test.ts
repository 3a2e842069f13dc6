import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { rawRequest } from '../harness/http.js';

let upstream: TestUpstream;
let gw: TestGateway;
let token: string;

before(async () => {
  upstream = await startUpstream();
  gw = await startGateway({
    dev: true,
    routes: [
      { name: 'orders', match: { path: '/orders/*' }, authenticate: ['dev'], allow: [{ roles: ['reader'] }], upstream: { url: upstream.url, assertion: true } },
      { name: 'internal', match: { path: '/internal/*' }, authenticate: ['dev'], allow: [{ roles: ['admin'] }], upstream: { url: upstream.url } },
      { name: 'public', match: { path: '/*' }, public: true, upstream: { url: upstream.url } },
    ],
  });
  token = await gw.gateway.ref.current.devIssuer!.sign({ sub: 'alice', roles: ['reader'], groups: ['eng'], scope: 'orders.read' });
});
after(async () => { await gw.stop(); await upstream.close(); });

const SPOOFED = {
  'x-forwarded-for': '10.9.9.9, 203.0.113.7',
  'x-forwarded-host': 'internal.example',
  'x-forwarded-proto': 'https',
  'x-forwarded-uri': '/internal/secrets',
  'x-original-url': '/internal/secrets',
  'x-rewrite-url': '/internal/secrets',
  forwarded: 'for=10.9.9.9;host=internal.example;proto=https',
  'x-real-ip': '10.9.9.9',
};

test('spoofed forwarding headers from an untrusted peer change neither route, decision nor audited client address', async () => {
  const plain = await rawRequest(gw.url, 'GET', '/public/page');
  const spoofed = await rawRequest(gw.url, 'GET', '/public/page', SPOOFED);
  assert.equal(plain.status, 200);
  assert.equal(spoofed.status, 200);
  const seen = upstream.seen.at(-1)!;
  assert.equal(seen.url, '/public/page', 'X-Original-URL / X-Rewrite-URL did not reroute');
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1', 'the chain starts fresh at the socket peer');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers['x-forwarded-uri'], undefined);
  assert.equal(seen.headers['x-original-url'], undefined);
  assert.equal(seen.headers['x-rewrite-url'], undefined);
  assert.equal(seen.headers.forwarded, undefined);
  assert.equal(seen.headers['x-real-ip'], undefined);

  // The protected route is still protected with the same headers, and decisions do not move.
  const internal = await rawRequest(gw.url, 'GET', '/internal/secrets', { ...SPOOFED, authorization: `Bearer ${token}` });
  assert.equal(internal.status, 403);
  assert.equal(internal.json().code, 'no_rule_matched');

  const lines = await gw.audit(3);
  for (const line of lines.slice(-3)) assert.equal(line.client_address, '127.0.0.1');
  assert.equal(lines.at(-1)!.route, 'internal');
});

test('identity headers sent by the client are stripped; the gateway injects its own', async () => {
  const res = await rawRequest(gw.url, 'GET', '/orders/1', {
    authorization: `Bearer ${token}`,
    'x-gatehouse-subject': 'root',
    'x-gatehouse-roles': 'admin',
    'x-gatehouse-assertion': 'forged',
    'x-gatehouse-anything': 'forged',
  });
  assert.equal(res.status, 200, res.body);
  const seen = upstream.seen.at(-1)!;
  assert.equal(seen.headers['x-gatehouse-subject'], 'alice');
  assert.equal(seen.headers['x-gatehouse-roles'], 'reader');
  assert.equal(seen.headers['x-gatehouse-anything'], undefined);
  assert.notEqual(seen.headers['x-gatehouse-assertion'], 'forged');
  assert.equal(seen.headers.authorization, undefined, 'the inbound Authorization header is not forwarded');
});

test('identity headers are stripped on public routes too (no identity to inject)', async () => {
  await rawRequest(gw.url, 'GET', '/public/x', { 'x-gatehouse-subject': 'root' });
  assert.equal(upstream.seen.at(-1)!.headers['x-gatehouse-subject'], undefined);
});

test('the upstream verifies the signed identity assertion with the gateway JWKS', async () => {
  const res = await rawRequest(gw.url, 'GET', '/orders/2', { authorization: `Bearer ${token}` });
  assert.equal(res.status, 200);
  const assertion = upstream.seen.at(-1)!.headers['x-gatehouse-assertion'] as string;
  assert.ok(assertion);
  const jwks = createRemoteJWKSet(new URL(`${gw.url}/.well-known/jwks.json`));
  const { payload, protectedHeader } = await jwtVerify(assertion, jwks, { issuer: 'gatehouse', audience: 'orders', algorithms: ['ES256'] });
  assert.equal(protectedHeader.alg, 'ES256');
  assert.equal(payload.sub, 'alice');
  assert.deepEqual(payload.roles, ['reader']);
  // The same JWKS is served on the admin port.
  const adminJwks = createRemoteJWKSet(new URL(`${gw.adminUrl}/.well-known/jwks.json`));
  await jwtVerify(assertion, adminJwks, { issuer: 'gatehouse', audience: 'orders' });
  // An assertion for one route is not valid for another.
  await assert.rejects(jwtVerify(assertion, jwks, { issuer: 'gatehouse', audience: 'internal' }), (e: { code?: string }) => e.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED');
});

test('traceparent: propagated trace id, new span; request id echoed', async () => {
  const inbound = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const res = await rawRequest(gw.url, 'GET', '/public/trace', { traceparent: inbound });
  const sent = upstream.seen.at(-1)!.headers.traceparent as string;
  assert.match(sent, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  assert.notEqual(sent, inbound);
  assert.match(res.headers['x-request-id'] as string, /^[0-9a-f]{32}$/);
  const line = await gw.auditLine((l) => l.request_id === res.headers['x-request-id']);
  assert.equal(line?.traceparent, sent);
});

test('the gateway request id wins over one the upstream sends back, and the upstream headers still arrive', async () => {
  const echoing = await startUpstream((_req, res) => res.writeHead(200, { 'x-request-id': 'upstream-chosen', 'x-upstream': 'yes' }).end('ok'));
  const own = await startGateway({ routes: [{ name: 'echo', match: { path: '/*' }, public: true, upstream: { url: echoing.url } }] });
  try {
    const res = await rawRequest(own.url, 'GET', '/x');
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-upstream'], 'yes');
    assert.match(res.headers['x-request-id'] as string, /^[0-9a-f]{32}$/);
    assert.ok(await own.auditLine((l) => l.request_id === res.headers['x-request-id']));
  } finally {
    await own.stop();
    await echoing.close();
  }
});
