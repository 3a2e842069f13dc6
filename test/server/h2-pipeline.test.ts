// The pipeline over HTTP/2 inbound: the same refusals, path normalization and host rules as
// HTTP/1.1, streaming both ways to an HTTP/1.1 upstream, client certificates, and WebSockets on
// the HTTP/1.1 connections of the same TLS port.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { ClientHttp2Session } from 'node:http2';
import { WebSocket } from 'ws';
import { makeTestPki } from '../harness/tls.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { startWebSocketUpstream, type WebSocketUpstream } from '../harness/websocket.js';
import { h2Connect, h2Request } from '../harness/h2.js';
import { issueClientCert } from './tls-clients.js';

const BIG = 8 * 1024 * 1024;
let pki: ReturnType<typeof makeTestPki>;
let upstream: TestUpstream;
let wsUpstream: WebSocketUpstream;
let gw: TestGateway;
let session: ClientHttp2Session;
let adminToken: string;
const uploads: { bytes: number; sha: string }[] = [];

before(async () => {
  pki = makeTestPki();
  upstream = await startUpstream((req, res, seen) => {
    if (req.url === '/public/big') {
      // 8 MiB in 64 KiB chunks, written with back-pressure.
      const chunk = Buffer.alloc(64 * 1024, 'z');
      let left = BIG / chunk.length;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const pump = (): void => {
        while (left > 0) {
          left--;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    const hash = createHash('sha256');
    req.on('data', (c: Buffer) => { seen.bodyBytes += c.length; hash.update(c); });
    req.on('end', () => {
      if (req.url === '/public/upload') uploads.push({ bytes: seen.bodyBytes, sha: hash.digest('hex') });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: seen.url, headers: seen.headers, bodyBytes: seen.bodyBytes }));
    });
  });
  wsUpstream = await startWebSocketUpstream();
  gw = await startGateway({
    dev: true,
    listen: { tls: { cert: pki.certPem, key: pki.keyPem, clientCa: pki.caPem, clientAuth: 'optional' } },
    providers: { certs: { type: 'mtls', subject: 'cn' } },
    routes: [
      { name: 'admin', match: { path: '/admin/*' }, authenticate: ['dev'], allow: [{ roles: ['admin'] }], upstream: { url: upstream.url } },
      { name: 'mtls', match: { path: '/mtls/*' }, authenticate: ['certs'], upstream: { url: upstream.url } },
      { name: 'ws', match: { path: '/ws/*' }, public: true, websocket: true, upstream: { url: wsUpstream.url } },
      { name: 'public', match: { path: '/*' }, public: true, upstream: { url: upstream.url } },
    ],
  });
  adminToken = await gw.gateway.ref.current.devIssuer!.sign({ sub: 'root', roles: ['admin'] });
  session = await h2Connect(base(), pki.caPem);
});
after(async () => {
  session.close();
  await gw.stop();
  await upstream.close();
  await wsUpstream.close();
  rmSync(pki.dir, { recursive: true, force: true });
});

const base = (): string => `https://localhost:${new URL(gw.url).port}`;

test('a refusal over h2 is the same problem JSON: 401 with code and WWW-Authenticate', async () => {
  const res = await h2Request(session, '/admin/users');
  assert.equal(res.status, 401);
  assert.equal(res.headers['content-type'], 'application/problem+json');
  assert.equal(res.json().code, 'token_missing');
  assert.ok(res.headers['www-authenticate']);
  const ok = await h2Request(session, '/admin/users', { authorization: `Bearer ${adminToken}` });
  assert.equal(ok.status, 200);
});

test('a request body streams to the HTTP/1.1 upstream and a large response streams back', async () => {
  const body = Buffer.alloc(3 * 1024 * 1024 + 7);
  for (let i = 0; i < body.length; i++) body[i] = i % 251;
  const up = await h2Request(session, '/public/upload', {}, body);
  assert.equal(up.status, 200, up.text);
  assert.deepEqual(uploads.at(-1), { bytes: body.length, sha: createHash('sha256').update(body).digest('hex') });
  const big = await h2Request(session, '/public/big');
  assert.equal(big.status, 200);
  assert.equal(big.body.length, BIG);
});

const PATHS = ['/admin/../admin/users', '/public/../admin/users', '/%61dmin/users', '//admin/users', '/public/%2e%2e/admin/users',
  '/x/y/../../admin', '/admin;x/users', '/%2e%2e/admin', '/../admin', '/public/..%2fadmin', '/public%2F..%2Fadmin', '/admin%00/users',
  '/public/%c0%ae%c0%ae/admin', '/admin%', '/admin%zz'];

test('path normalization over h2 answers exactly as over HTTP/1.1', async () => {
  const https = await import('node:https');
  const h1 = (path: string): Promise<{ status: number; code: unknown }> => new Promise((resolve, reject) => {
    https.get({ host: '127.0.0.1', port: Number(new URL(gw.url).port), servername: 'localhost', ca: pki.caPem, path, agent: false }, (r) => {
      let text = '';
      r.on('data', (c: Buffer) => { text += c.toString(); });
      r.on('end', () => resolve({ status: r.statusCode ?? 0, code: (JSON.parse(text) as { code?: string }).code }));
    }).on('error', reject);
  });
  const before = upstream.seen.length;
  for (const path of PATHS) {
    const expected = await h1(path);
    assert.ok(expected.status === 401 || expected.status === 400, `${path}: HTTP/1.1 refuses (${expected.status})`);
    const res = await h2Request(session, path);
    assert.deepEqual({ status: res.status, code: res.json().code }, expected, path);
  }
  assert.equal(upstream.seen.length, before, 'no attempt reached the upstream');
});

test(':authority and a Host naming another authority: 400 authority_mismatch; the same authority is fine', async () => {
  const port = new URL(gw.url).port;
  const authority = `localhost:${port}`;
  const res = await h2Request(session, '/public/x', { ':authority': authority, host: 'admin.internal' });
  assert.equal(res.status, 400);
  assert.equal(res.headers['content-type'], 'application/problem+json');
  assert.equal(res.json().code, 'authority_mismatch');
  const port2 = await h2Request(session, '/public/x', { ':authority': authority, host: 'localhost:1' });
  assert.equal(port2.json().code, 'authority_mismatch');
  const same = await h2Request(session, '/public/x', { ':authority': authority, host: `LOCALHOST:${port}` });
  assert.equal(same.status, 200);
  // A client may send Host instead of :authority (node's client does when given one).
  const hostOnly = await h2Request(session, '/public/x', { host: 'elsewhere.example' });
  assert.equal(hostOnly.status, 200);
  assert.equal(hostOnly.json<{ headers: Record<string, string> }>().headers['x-forwarded-host'], 'elsewhere.example');
});

test('client certificates over h2: the mtls provider sees the TLS socket behind the session', async () => {
  const alice = issueClientCert(pki, 'alice');
  const withCert = await h2Connect(base(), pki.caPem, alice);
  const res = await h2Request(withCert, '/mtls/me');
  withCert.close();
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json<{ headers: Record<string, string> }>().headers['x-gatehouse-subject'], 'alice');
  const without = await h2Request(session, '/mtls/me');
  assert.equal(without.status, 401);
});

test('WebSocket upgrades keep working on the HTTP/1.1 connections of the h2-enabled TLS port', async () => {
  for (const ALPNProtocols of [undefined, ['http/1.1']]) {
    const ws = new WebSocket(`wss://localhost:${new URL(gw.url).port}/ws/echo`, { ca: pki.caPem, perMessageDeflate: false, ...(ALPNProtocols ? { ALPNProtocols } : {}) });
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
    const echoed = new Promise<string>((resolve) => ws.once('message', (d: Buffer) => resolve(d.toString())));
    ws.send('ping over h1');
    assert.equal(await echoed, 'ping over h1');
    ws.close();
  }
});
