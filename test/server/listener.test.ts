import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { promisify } from 'node:util';
import { rmSync } from 'node:fs';
import { makeTestPki } from '../harness/tls.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';

const exec = promisify(execFile);
let pki: ReturnType<typeof makeTestPki>;
let upstream: TestUpstream;
let gw: TestGateway;

before(async () => {
  pki = makeTestPki();
  upstream = await startUpstream();
  gw = await startGateway({
    listen: { tls: { cert: pki.certPem, key: pki.keyPem }, maxHeaderSize: '4kb', headersTimeout: '1s', requestTimeout: '2s' },
    routes: [{ name: 'all', match: { path: '/*' }, public: true, upstream: { url: upstream.url } }],
  });
});
after(async () => { await gw.stop(); await upstream.close(); rmSync(pki.dir, { recursive: true, force: true }); });

const httpsUrl = () => gw.url.replace('http://', 'https://').replace('127.0.0.1', 'localhost');

test('HTTPS listener with a certificate made in the test, verified by curl against its CA', async () => {
  const caFile = join(pki.dir, 'ca-only.pem');
  writeFileSync(caFile, pki.caPem);
  const port = new URL(gw.url).port;
  const { stdout } = await exec('curl', ['-sS', '--cacert', caFile, '--resolve', `localhost:${port}:127.0.0.1`, '-w', '\n%{http_code}', `${httpsUrl()}/hello`]);
  assert.match(stdout, /\n200$/);
  assert.equal(upstream.seen.at(-1)!.headers['x-forwarded-proto'], 'https');
  // Without trusting the CA, curl refuses the certificate.
  await assert.rejects(exec('curl', ['-sS', '--resolve', `localhost:${port}:127.0.0.1`, `${httpsUrl()}/hello`]));
});

function rawTls(payload: string, wait = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    import('node:tls').then(({ connect }) => {
      const socket = connect({ host: '127.0.0.1', port: Number(new URL(gw.url).port), ca: pki.caPem, servername: 'localhost' }, () => socket.write(payload));
      let out = '';
      socket.on('data', (d: Buffer) => { out += d.toString(); });
      socket.on('close', () => resolve(out));
      socket.on('error', reject);
      setTimeout(() => { socket.destroy(); resolve(out + '[still open]'); }, wait).unref();
    }, reject);
  });
}

test('an oversized request head is answered 431', async () => {
  const out = await rawTls(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`);
  assert.match(out, /^HTTP\/1\.1 431 /);
});

test('a client that never finishes its head is cut off (slowloris)', async () => {
  const out = await rawTls('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n', 6000);
  assert.doesNotMatch(out, /\[still open\]/, 'the gateway closed the connection');
  assert.match(out, /^HTTP\/1\.1 408 Request Timeout\r\n/);
});

test('a malformed request line gets 400, not a crash', async () => {
  const out = await rawTls('GARBAGE\r\n\r\n');
  assert.match(out, /^HTTP\/1\.1 400 /);
  const ok = await rawTls('GET /still-alive HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.match(ok, /^HTTP\/1\.1 200 /);
});

test('plain TCP to the TLS port does not crash the gateway', async () => {
  await new Promise<void>((resolve) => {
    const s = net.connect(Number(new URL(gw.url).port), '127.0.0.1', () => s.end('GET / HTTP/1.1\r\n\r\n'));
    s.on('close', () => resolve());
    s.on('error', () => resolve());
  });
  const ok = await rawTls('GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.match(ok, /^HTTP\/1\.1 200 /);
});
