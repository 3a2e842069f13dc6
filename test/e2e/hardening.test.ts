// What a held-out attack suite found (issue 10, items 1-5): each test tries the attack and asserts the refusal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { rawBytes, rawRequest } from '../harness/http.js';
import { makeTestPki } from '../harness/tls.js';

let upstream: TestUpstream;
let tlsUpstream: https.Server;
let gw: TestGateway;
let token: string;

before(async () => {
  upstream = await startUpstream();
  const pki = makeTestPki();
  tlsUpstream = https.createServer({ cert: pki.certPem, key: pki.keyPem }, (_req, res) => res.end('secret'));
  await new Promise<void>((resolve) => tlsUpstream.listen(0, '127.0.0.1', resolve));
  const tlsPort = (tlsUpstream.address() as AddressInfo).port;
  gw = await startGateway({
    dev: true,
    listen: { reservedHeaders: ['X-User-Id'] },
    routes: [
      // An authenticated route whose backend trusts x-auth-subject and a signed assertion in x-proof…
      { name: 'private', match: { path: '/private/*' }, authenticate: ['dev'], upstream: { url: upstream.url, identityHeaders: { 'x-auth-subject': 'subject' }, assertion: { header: 'x-proof' } } },
      // …and a public route to the same backend, which names neither.
      { name: 'public', match: { path: '/public/*' }, public: true, upstream: { url: upstream.url } },
      { name: 'cookie', match: { path: '/cookie/*' }, authenticate: ['dev'], token: { header: true, cookie: 'access' }, upstream: { url: upstream.url } },
      { name: 'raw', match: { path: '/raw/*' }, public: true, allowEncodedPercent: true, upstream: { url: upstream.url } },
      // An upstream whose certificate this gateway does not trust.
      { name: 'untrusted', match: { path: '/untrusted/*' }, public: true, upstream: { url: `https://127.0.0.1:${tlsPort}` } },
    ],
  });
  token = await gw.gateway.ref.current.devIssuer!.sign({ sub: 'alice' });
});
after(async () => {
  await gw.stop();
  await upstream.close();
  await new Promise((resolve) => { tlsUpstream.closeAllConnections(); tlsUpstream.close(resolve); });
});

test('headers the gateway speaks through on any route are stripped on every route, in every spelling', async () => {
  const forged = await rawBytes(gw.url, ['GET /public/me HTTP/1.1', 'host: a', 'X-Auth-Subject: admin', 'x-auth-subject: admin2', 'X-PROOF: forged.jwt.sig', 'x-user-id: 42'].join('\r\n'));
  assert.equal(forged.status, 200);
  const seen = upstream.seen.at(-1)!;
  assert.equal(seen.url, '/public/me');
  assert.equal(seen.headers['x-auth-subject'], undefined, 'a public route cannot carry a forged identity header of another route');
  assert.equal(seen.headers['x-proof'], undefined, 'nor a forged assertion');
  assert.equal(seen.headers['x-user-id'], undefined, 'nor a header the operator reserved');

  // On the route that sets it, the upstream gets the gateway's value only.
  const res = await rawRequest(gw.url, 'GET', '/private/me', { authorization: `Bearer ${token}`, 'x-auth-subject': 'admin', 'x-user-id': '42' });
  assert.equal(res.status, 200);
  const own = upstream.seen.at(-1)!;
  assert.equal(own.headers['x-auth-subject'], 'alice');
  assert.match(String(own.headers['x-proof']), /^ey/);
  assert.equal(own.headers['x-user-id'], undefined);
});

test('a percent-encoded % that forms another escape is refused unless the route opts out', async () => {
  for (const path of ['/public/%252e%252e/admin/x', '/public/..%252fadmin/x', '/public/a%2541']) {
    const res = await rawRequest(gw.url, 'GET', path);
    assert.equal(res.status, 400, path);
    assert.equal(res.json().code, 'path_double_encoding', path);
  }
  const before = upstream.seen.length;
  const ok = await rawRequest(gw.url, 'GET', '/raw/%252e%252e/x');
  assert.equal(ok.status, 200);
  assert.equal(upstream.seen.length, before + 1);
  assert.equal(upstream.seen.at(-1)!.url, '/raw/%252e%252e/x', 'forwarded exactly as received');
  // A plain %25 (an escaped percent that forms no escape) is fine everywhere.
  assert.equal((await rawRequest(gw.url, 'GET', '/public/100%25')).status, 200);
});

test('two Host headers, two Authorization headers, two X-Amz-Date headers: 400 header_duplicated', async () => {
  const before = upstream.seen.length;
  const cases: [string[], string][] = [
    [['host: a.example', 'host: b.example'], 'host'],
    [['host: a', `authorization: Bearer ${token}`, 'authorization: Bearer other'], 'authorization'],
    [['host: a', 'x-amz-date: 20260101T000000Z', 'X-Amz-Date: 20270101T000000Z'], 'x-amz-date'],
  ];
  for (const [lines, name] of cases) {
    const res = await rawBytes(gw.url, ['GET /public/x HTTP/1.1', ...lines].join('\r\n'));
    assert.equal(res.status, 400, name);
    assert.match(res.text, /"code":"header_duplicated"/);
    assert.match(res.text, new RegExp(`the ${name} header appears more than once`));
  }
  // Framing headers twice are the HTTP parser's to refuse (request smuggling): a bare 400.
  for (const framing of [['content-length: 3', 'content-length: 4'], ['transfer-encoding: chunked', 'transfer-encoding: chunked']]) {
    const res = await rawBytes(gw.url, ['POST /public/x HTTP/1.1', 'host: a', ...framing].join('\r\n'));
    assert.equal(res.status, 400, framing[0]);
  }
  assert.equal(upstream.seen.length, before, 'nothing reached the upstream');
});

test('a WebSocket upgrade is refused, never turned into a plain GET; an h2c upgrade is served as HTTP/1.1', async () => {
  const before = upstream.seen.length;
  const ws = await rawBytes(gw.url, ['GET /public/socket HTTP/1.1', 'host: a', 'connection: Upgrade', 'upgrade: websocket', 'sec-websocket-version: 13', 'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ=='].join('\r\n'));
  assert.equal(ws.status, 400);
  assert.match(ws.text, /"code":"upgrade_not_supported"/);
  assert.equal(upstream.seen.length, before, 'the upstream never saw it');
  const h2c = await rawBytes(gw.url, ['GET /public/h2c HTTP/1.1', 'host: a', 'connection: Upgrade, HTTP2-Settings', 'upgrade: h2c', 'http2-settings: AAMAAABkAARAAAAAAAIAAAAA'].join('\r\n'));
  assert.equal(h2c.status, 200);
  assert.equal(upstream.seen.at(-1)!.headers.upgrade, undefined);
  const line = await gw.auditLine((l) => l.error === 'upgrade_not_supported');
  assert.equal(line?.route, 'public');
});

test('a 502 tells the client the stable code only; the TLS detail goes to the audit line', async () => {
  const res = await rawRequest(gw.url, 'GET', '/untrusted/x');
  assert.equal(res.status, 502);
  const body = res.json();
  assert.equal(body.code, 'upstream_unreachable');
  assert.doesNotMatch(res.body, /UNABLE_TO_VERIFY|SELF_SIGNED|CERT|127\.0\.0\.1/);
  const line = await gw.auditLine((l) => l.route === 'untrusted');
  assert.equal(line?.error, 'upstream_unreachable');
  assert.match(String(line?.error_detail), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER_CERT/);
});

test('a token in two accepted places must be one token; the token cookie sent twice is refused', async () => {
  const other = await gw.gateway.ref.current.devIssuer!.sign({ sub: 'mallory' });
  const both = await rawRequest(gw.url, 'GET', '/cookie/x', { authorization: `Bearer ${token}`, cookie: `access=${other}` });
  assert.equal(both.status, 401);
  assert.equal(both.json().code, 'token_malformed');
  assert.match(String(both.json().detail), /different tokens/);
  const twice = await rawRequest(gw.url, 'GET', '/cookie/x', { cookie: `access=${token}; theme=dark; access=${other}` });
  assert.equal(twice.status, 401);
  assert.equal(twice.json().code, 'token_malformed');
  assert.equal((await rawRequest(gw.url, 'GET', '/cookie/x', { authorization: `Bearer ${token}`, cookie: `access=${token}` })).status, 200);
  assert.equal((await rawRequest(gw.url, 'GET', '/cookie/x', { cookie: `access=${token}` })).status, 200);
});
