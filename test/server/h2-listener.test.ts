// HTTP/2 on the public listener: ALPN h2 and HTTP/1.1 on one TLS port; h2c with prior knowledge and
// HTTP/1.1 on one cleartext port when enabled, refused when not.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { makeTestPki } from '../harness/tls.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { rawRequest } from '../harness/http.js';
import { h2Connect, h2Once, h2Request } from '../harness/h2.js';

const exec = promisify(execFile);
let pki: ReturnType<typeof makeTestPki>;
let upstream: TestUpstream;
let tlsGw: TestGateway;
let h2cGw: TestGateway;
let plainGw: TestGateway;
let caFile: string;

const routes = () => [{ name: 'all', match: { path: '/*' }, public: true, upstream: { url: upstream.url } }];

before(async () => {
  pki = makeTestPki();
  caFile = join(pki.dir, 'ca-only.pem');
  writeFileSync(caFile, pki.caPem);
  upstream = await startUpstream();
  tlsGw = await startGateway({ listen: { tls: { cert: pki.certPem, key: pki.keyPem } }, routes: routes() });
  h2cGw = await startGateway({ listen: { http2: { h2c: true } }, routes: routes() });
  plainGw = await startGateway({ routes: routes() });
});
after(async () => {
  await Promise.all([tlsGw.stop(), h2cGw.stop(), plainGw.stop()]);
  await upstream.close();
  rmSync(pki.dir, { recursive: true, force: true });
});

const tlsBase = (): string => `https://localhost:${new URL(tlsGw.url).port}`;

test('TLS: a client offering h2 by ALPN is served HTTP/2 through the pipeline', async () => {
  const session = await h2Connect(tlsBase(), pki.caPem);
  assert.equal(session.alpnProtocol, 'h2');
  const res = await h2Request(session, '/hello?x=1');
  session.close();
  assert.equal(res.status, 200, res.text);
  assert.ok(res.headers['x-request-id'], 'the gateway answered');
  const seen = res.json<{ url: string; headers: Record<string, string> }>();
  assert.equal(seen.url, '/hello?x=1');
  // The upstream gets an HTTP/1.1 request: the client's host from :authority, no pseudo-headers.
  assert.equal(seen.headers['x-forwarded-host'], `localhost:${new URL(tlsGw.url).port}`);
  assert.equal(seen.headers['x-forwarded-proto'], 'https');
  assert.ok(!Object.keys(seen.headers).some((name) => name.startsWith(':')));
});

test('TLS: a client without h2 (no ALPN, or http/1.1 only) is served HTTP/1.1 on the same port', async () => {
  const port = Number(new URL(tlsGw.url).port);
  for (const ALPNProtocols of [undefined, ['http/1.1']]) {
    const res = await new Promise<{ status: number; version: string }>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port, servername: 'localhost', ca: pki.caPem, path: '/one', agent: false, ...(ALPNProtocols ? { ALPNProtocols } : {}) }, (r) => {
        r.resume();
        r.on('end', () => resolve({ status: r.statusCode ?? 0, version: r.httpVersion }));
      }).on('error', reject);
    });
    assert.deepEqual(res, { status: 200, version: '1.1' });
  }
});

test('TLS: curl --http2 and --http1.1 both get their protocol; undici with allowH2 speaks h2', async () => {
  const port = new URL(tlsGw.url).port;
  const curl = (flag: string) => exec('curl', ['-sS', flag, '--cacert', caFile, '--resolve', `localhost:${port}:127.0.0.1`, '-o', '/dev/null', '-w', '%{http_version} %{http_code}', `${tlsBase()}/c`]);
  assert.equal((await curl('--http2')).stdout, '2 200');
  assert.equal((await curl('--http1.1')).stdout, '1.1 200');
  const agent = new Agent({ allowH2: true, connect: { ca: pki.caPem, servername: 'localhost' } });
  try {
    const res = await request(`${tlsBase()}/u`, { dispatcher: agent, method: 'POST', body: 'abc' });
    assert.equal(res.statusCode, 200);
    const seen = await res.body.json() as { bodyBytes: number; method: string };
    assert.deepEqual([seen.method, seen.bodyBytes], ['POST', 3]);
  } finally {
    await agent.close();
  }
});

test('h2c enabled: prior-knowledge HTTP/2 and HTTP/1.1 share the cleartext port', async () => {
  const session = await h2Connect(h2cGw.url);
  const [a, b] = await Promise.all([h2Request(session, '/a'), h2Request(session, '/b', {}, 'body')]);
  session.close();
  assert.deepEqual([a.status, b.status], [200, 200]);
  assert.equal(b.json<{ bodyBytes: number }>().bodyBytes, 4);
  const { stdout } = await exec('curl', ['-sS', '--http2-prior-knowledge', '-o', '/dev/null', '-w', '%{http_version} %{http_code}', `${h2cGw.url}/c`]);
  assert.equal(stdout, '2 200');
  // HTTP/1.1 on the same port, with a body and keep-alive (two requests on one connection).
  const agent = new Agent({ connections: 1 });
  try {
    for (const body of ['first', 'second body']) {
      const res = await request(`${h2cGw.url}/h1`, { dispatcher: agent, method: 'POST', body });
      assert.equal(res.statusCode, 200);
      assert.equal((await res.body.json() as { bodyBytes: number }).bodyBytes, body.length);
    }
  } finally {
    await agent.close();
  }
  assert.equal((await rawRequest(h2cGw.url, 'GET', '/raw')).status, 200);
});

test('h2c disabled (the default): a prior-knowledge HTTP/2 client gets no HTTP/2 service; HTTP/1.1 works', async () => {
  await assert.rejects(h2Once(plainGw.url, '/x'));
  await assert.rejects(exec('curl', ['-sS', '--http2-prior-knowledge', '-o', '/dev/null', `${plainGw.url}/c`]));
  assert.equal((await rawRequest(plainGw.url, 'GET', '/raw')).status, 200);
});

test('listen.http2.enabled: false keeps a TLS listener HTTP/1.1 only', async () => {
  const gw = await startGateway({ listen: { tls: { cert: pki.certPem, key: pki.keyPem }, http2: { enabled: false } }, routes: routes() });
  try {
    const port = new URL(gw.url).port;
    const { stdout } = await exec('curl', ['-sS', '--http2', '--cacert', caFile, '--resolve', `localhost:${port}:127.0.0.1`, '-o', '/dev/null', '-w', '%{http_version} %{http_code}', `https://localhost:${port}/c`]);
    assert.equal(stdout, '1.1 200');
  } finally {
    await gw.stop();
  }
});
