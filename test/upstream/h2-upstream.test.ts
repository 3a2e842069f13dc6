// HTTP/2 to the upstream (`http2: true`): h2c with prior knowledge to an http:// upstream, ALPN h2
// to an https:// one with HTTP/1.1 when it declines, TE and trailers end to end (to HTTP/2 and
// HTTP/1.1 clients), and large bodies both ways with back-pressure.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import http2, { type Http2Server, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { makeTestPki } from '../harness/tls.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { h2Connect, h2Request } from '../harness/h2.js';

const BIG = 4 * 1024 * 1024;
let pki: ReturnType<typeof makeTestPki>;
let h2c: Http2Server;
let h2tls: Http2SecureServer;
let h1tls: ReturnType<typeof createHttpsServer>;
let gw: TestGateway;
const seen: { version: string; te: string | undefined }[] = [];

/** Answers with what it saw; `/trailers` ends with trailers; `/big` sends BIG bytes; `/upload` hashes the body. */
function handler(req: Http2ServerRequest | IncomingMessage, res: Http2ServerResponse | ServerResponse): void {
  seen.push({ version: req.httpVersion, te: req.headers.te as string | undefined });
  if (req.url === '/big') {
    const chunk = Buffer.alloc(64 * 1024, 'y');
    let left = BIG / chunk.length;
    const out = res as ServerResponse;
    out.writeHead(200, { 'content-type': 'application/octet-stream' });
    const pump = (): void => {
      while (left-- > 0) if (!out.write(chunk)) return void out.once('drain', pump);
      out.end();
    };
    return pump();
  }
  const hash = createHash('sha256');
  let bytes = 0;
  req.on('data', (c: Buffer) => { bytes += c.length; hash.update(c); });
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.url === '/trailers') (res as Http2ServerResponse).addTrailers({ 'x-checksum': 'abc123', 'grpc-status': '0' });
    res.end(JSON.stringify({ version: req.httpVersion, te: req.headers.te ?? null, bytes, sha: hash.digest('hex') }));
  });
}

const listen = async (server: { listen(port: number, host: string, cb: () => void): unknown; address(): unknown }): Promise<number> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
};

before(async () => {
  pki = makeTestPki();
  h2c = http2.createServer(handler);
  h2tls = http2.createSecureServer({ cert: pki.certPem, key: pki.keyPem }, handler);
  h1tls = createHttpsServer({ cert: pki.certPem, key: pki.keyPem }, handler);
  const [p1, p2, p3] = [await listen(h2c), await listen(h2tls), await listen(h1tls)];
  gw = await startGateway({
    listen: { http2: { h2c: true } },
    routes: [
      { name: 'h2c', match: { path: '/h2c/*' }, public: true, upstream: { url: `http://127.0.0.1:${p1}`, stripPrefix: '/h2c', http2: true } },
      { name: 'h2tls', match: { path: '/h2tls/*' }, public: true, upstream: { url: `https://localhost:${p2}`, ca: pki.caPem, stripPrefix: '/h2tls', http2: true } },
      { name: 'h1tls', match: { path: '/h1tls/*' }, public: true, upstream: { url: `https://localhost:${p3}`, ca: pki.caPem, stripPrefix: '/h1tls', http2: true } },
      { name: 'plain', match: { path: '/plain/*' }, public: true, upstream: { url: `http://127.0.0.1:${p1}`, stripPrefix: '/plain' } },
    ],
  });
});
after(async () => {
  await gw.stop();
  h2c.close();
  h2tls.close();
  h1tls.close();
  rmSync(pki.dir, { recursive: true, force: true });
});

test('h2c to an http:// upstream and ALPN h2 to an https:// one', async () => {
  for (const prefix of ['/h2c', '/h2tls']) {
    const res = await request(`${gw.url}${prefix}/x`);
    assert.equal(res.statusCode, 200);
    assert.equal(((await res.body.json()) as { version: string }).version, '2.0', prefix);
  }
});

test('an https:// upstream that offers only HTTP/1.1 is spoken to in HTTP/1.1', async () => {
  const res = await request(`${gw.url}/h1tls/x`);
  assert.equal(res.statusCode, 200);
  assert.equal(((await res.body.json()) as { version: string }).version, '1.1');
});

test('without http2 an HTTP/2-only upstream is not reachable: the setting is what speaks HTTP/2', async () => {
  const res = await request(`${gw.url}/plain/x`);
  assert.equal(res.statusCode, 502);
  assert.equal(((await res.body.json()) as { code: string }).code, 'upstream_error');
});

test('TE: trailers goes upstream only when the client sent it; the trailers come back to an HTTP/2 client', async () => {
  const session = await h2Connect(gw.url);
  try {
    const plain = await h2Request(session, '/h2c/x');
    assert.equal(plain.json().te, null);
    const stream = session.request({ ':path': '/h2c/trailers', te: 'trailers' });
    const trailers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
      stream.on('trailers', resolve);
      stream.on('close', () => reject(new Error('no trailers')));
      stream.resume();
    });
    assert.equal(trailers['x-checksum'], 'abc123');
    assert.equal(seen.at(-1)?.te, 'trailers');
  } finally {
    session.close();
  }
});

test('the trailers reach an HTTP/1.1 client on the chunked response', async () => {
  const res = await request(`${gw.url}/h2c/trailers`, { headers: { te: 'trailers' } });
  await res.body.text();
  assert.equal(res.trailers['x-checksum'], 'abc123');
});

test('4 MiB each way over an HTTP/2 upstream, intact', async () => {
  const down = await request(`${gw.url}/h2c/big`);
  let bytes = 0;
  for await (const c of down.body) bytes += (c as Buffer).length;
  assert.equal(bytes, BIG);
  const body = Buffer.alloc(BIG, 'u');
  const up = await request(`${gw.url}/h2tls/upload`, { method: 'POST', body });
  const got = (await up.body.json()) as { bytes: number; sha: string };
  assert.equal(got.bytes, BIG);
  assert.equal(got.sha, createHash('sha256').update(body).digest('hex'));
});
