import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig, ConfigError } from '../../src/config/load.js';
import { runGateway } from '../../src/server/run.js';
import { OpensslCa, type Ca, type Pem } from '../harness/openssl-ca.js';
import { startMtlsBackend, type BackendReply, type MtlsBackend } from '../harness/mtls-backend.js';
import { startGateway, writeConfig, type TestGateway } from '../harness/gateway.js';

// Upstream mTLS with real TLS: CAs and certificates made here with openssl, a backend that takes only
// clients with a certificate of its client CA (requestCert + rejectUnauthorized), and a real gateway
// presenting its client certificate from `${file:}` references, which it re-reads when they change.

const pki = new OpensslCa();
let backendCa: Ca, clientCa: Ca, otherCa: Ca;
let gw1: Pem, gw2: Pem, stranger: Pem;
let backend: MtlsBackend;

before(async () => {
  backendCa = pki.makeCa('backend-ca');
  clientCa = pki.makeCa('gateway-clients-ca');
  otherCa = pki.makeCa('other-ca');
  const server = pki.issue(backendCa, 'backend', 'orders.vm.internal', { san: 'DNS:orders.vm.internal', usage: 'serverAuth' });
  gw1 = pki.issue(clientCa, 'gw1', 'gatehouse-2026-01');
  gw2 = pki.issue(clientCa, 'gw2', 'gatehouse-2026-02');
  stranger = pki.issue(otherCa, 'stranger', 'not-trusted');
  backend = await startMtlsBackend({ cert: server.cert, key: server.key, clientCa: clientCa.pem });
});
after(async () => { await backend.close(); pki.remove(); });

interface Reply { status: number; body: string; json(): Record<string, unknown> }

/** GET through the gateway on a keep-alive agent (the client side never causes a failure). */
function get(gw: TestGateway, path: string, agent?: http.Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${gw.url}${path}`, { agent: agent ?? false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => resolve({ status: res.statusCode ?? 0, body, json: () => JSON.parse(body) as Record<string, unknown> }));
    });
    req.on('error', reject).end();
  });
}
const subject = (r: Reply): string => (r.json() as unknown as BackendReply).subject;

/** An upstream to the backend by its name (SNI and certificate check), the client identity from files. */
const upstream = (tls: Record<string, unknown> | undefined, ca = backendCa.file) => ({
  url: backend.url, serverName: 'orders.vm.internal', ca: `\${file:${ca}}`, ...(tls ? { tls } : {}),
});
const files = (p: Pem): Record<string, string> => ({ cert: `\${file:${p.certFile}}`, key: `\${file:${p.keyFile}}` });
const route = (name: string, up: unknown) => ({ name, match: { path: `/${name}/*` }, public: true, upstream: up });

describe('upstream mTLS: handshakes', () => {
  let gw: TestGateway;
  before(async () => {
    const encrypted = pki.encrypt(gw2, 'gw2-encrypted.key', 'correct horse');
    writeFileSync(pki.file('passphrase'), 'correct horse');
    gw = await startGateway({
      routes: [
        route('presented', upstream(files(gw1))),
        route('encrypted', upstream({ cert: `\${file:${gw2.certFile}}`, key: `\${file:${pki.file('gw2-encrypted.key')}}`, passphrase: `\${file:${pki.file('passphrase')}}`, minVersion: 'TLSv1.3' })),
        route('wrong-ca', upstream(files(gw1), otherCa.file)),
        route('no-cert', upstream(undefined)),
        route('untrusted-cert', upstream(files(stranger))),
      ],
    });
    assert.ok(encrypted.includes('ENCRYPTED'));
  });
  after(async () => { await gw.stop(); });

  test('the client certificate is presented; the backend sees its subject', async () => {
    const res = await get(gw, '/presented/x');
    assert.equal(res.status, 200, res.body);
    assert.deepEqual([subject(res), res.json().issuer], ['gatehouse-2026-01', 'gateway-clients-ca']);
  });

  test('an encrypted key with its passphrase (a secret file), TLS 1.3 only', async () => {
    const res = await get(gw, '/encrypted/x');
    assert.equal(res.status, 200, res.body);
    assert.equal(subject(res), 'gatehouse-2026-02');
  });

  async function assertHandshakeRefused(path: string, detail: RegExp): Promise<void> {
    const res = await get(gw, path);
    assert.equal(res.status, 502, res.body);
    assert.equal(res.json().code, 'upstream_unreachable');
    assert.doesNotMatch(res.body, /TLS|certificate|ERR_/i, 'the reason stays in the audit line');
    const line = await gw.auditLine((l) => l.path === path);
    assert.equal(line?.error, 'upstream_unreachable');
    assert.match(String(line?.error_detail), detail);
  }

  test('the backend\'s certificate is not from the pinned CA → 502, the reason only in the audit line', async () => {
    await assertHandshakeRefused('/wrong-ca/x', /^TLS handshake with the upstream failed \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)$/);
  });

  test('no client certificate: the backend refuses the handshake → 502', async () => {
    await assertHandshakeRefused('/no-cert/x', /^TLS handshake with the upstream failed \(ERR_SSL_/);
  });

  test('a client certificate the backend does not trust → 502', async () => {
    // Node's rejectUnauthorized closes the connection without an alert; other servers send one.
    await assertHandshakeRefused('/untrusted-cert/x', /^TLS handshake with the upstream failed \((ERR_SSL_|GATEHOUSE_TLS_CLOSED_UNANSWERED)/);
  });
});

describe('upstream mTLS: rotation without restart', () => {
  test('new connections use the new certificate; no request fails, the one in flight finishes', async () => {
    const live = { certFile: pki.file('live.pem'), keyFile: pki.file('live.key') };
    copyFileSync(gw1.certFile, live.certFile);
    copyFileSync(gw1.keyFile, live.keyFile);
    const gw = await startGateway({ routes: [route('orders', upstream(files({ ...gw1, ...live })))] });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    try {
      assert.equal(subject(await get(gw, '/orders/warm', agent)), 'gatehouse-2026-01');
      // A request held at the backend across the rotation, on a connection made with the old certificate.
      const arrived = backend.slowArrived();
      const slow = get(gw, '/orders/slow/1', agent);
      await arrived;

      const replies: Reply[] = [];
      let rotated = false;
      const flow = async (): Promise<void> => {
        // Requests flow continuously until the new certificate is seen (bounded, never timed).
        for (let i = 0; i < 50_000 && !rotated; i++) {
          const res = await get(gw, `/orders/flow/${i}`, agent);
          replies.push(res);
          if (res.status === 200 && subject(res) === 'gatehouse-2026-02') rotated = true;
        }
      };
      const flows = [flow(), flow(), flow()];
      // Replace both files the way a secret mount does (rename into place): the watcher reloads.
      copyFileSync(gw2.keyFile, `${live.keyFile}.new`);
      copyFileSync(gw2.certFile, `${live.certFile}.new`);
      renameSync(`${live.keyFile}.new`, live.keyFile);
      renameSync(`${live.certFile}.new`, live.certFile);
      await Promise.all(flows);

      assert.ok(rotated, 'the new certificate was presented without a restart');
      assert.deepEqual(replies.filter((r) => r.status !== 200).map((r) => r.body), [], 'no request failed during the rotation');
      assert.ok(replies.some((r) => subject(r) === 'gatehouse-2026-01'), 'requests flowed before the rotation too');
      for (let i = 0; i < 5; i++) assert.equal(subject(await get(gw, `/orders/after/${i}`, agent)), 'gatehouse-2026-02');

      backend.releaseSlow();
      const held = await slow;
      assert.equal(held.status, 200, 'the request in flight during the rotation finished');
      assert.equal(subject(held), 'gatehouse-2026-01', 'on its connection, made with the old certificate');
    } finally {
      agent.destroy();
      await gw.stop();
    }
  });

  test('a rotation that leaves a key of another certificate is refused: the old certificate stays in use', async () => {
    const live = { certFile: pki.file('live2.pem'), keyFile: pki.file('live2.key') };
    copyFileSync(gw1.certFile, live.certFile);
    copyFileSync(gw1.keyFile, live.keyFile);
    const gw = await startGateway({ routes: [route('orders', upstream(files({ ...gw1, ...live })))] });
    try {
      copyFileSync(gw2.keyFile, live.keyFile);
      assert.equal(await gw.gateway.reload(), false);
      const res = await get(gw, '/orders/x');
      assert.deepEqual([res.status, subject(res)], [200, 'gatehouse-2026-01']);
    } finally {
      await gw.stop();
    }
  });
});

describe('upstream mTLS: bad files at load', () => {
  const config = (cert: string, key: string): string => [
    'routes:',
    '  - name: orders',
    '    match: { path: /orders/* }',
    '    public: true',
    '    upstream:',
    `      url: ${backend.url}`,
    `      ca: \${file:${backendCa.file}}`,
    '      tls:',
    `        cert: \${file:${cert}}`,
    `        key: \${file:${key}}`,
    '',
  ].join('\n');

  test('a key that is not the certificate\'s → refused with a located issue naming the files; the gateway does not start', async () => {
    const file = writeConfig(config(gw1.certFile, gw2.keyFile));
    const err = await loadConfig(file).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.issues.length, 1, err.message);
    const issue = err.issues[0]!;
    assert.equal(issue.path, '/routes/0/upstream/tls/key');
    assert.equal(issue.line, 10);
    assert.ok(issue.message.includes(`\${file:${gw2.keyFile}}`) && issue.message.includes(`\${file:${gw1.certFile}}`), issue.message);
    assert.match(issue.message, /is not the key of the certificate/);
    assert.doesNotMatch(err.message, /BEGIN|PRIVATE KEY-----/, 'no key material in the message');
    await assert.rejects(runGateway(file, pino({ level: 'silent' })), (e: unknown) => e instanceof ConfigError && e.issues[0]?.path === '/routes/0/upstream/tls/key');
  });

  test('a file that is not a certificate, a key that is not a key → one issue each, naming the file', async () => {
    writeFileSync(join(pki.dir, 'not-a-cert.pem'), 'hello');
    const err = await loadConfig(writeConfig(config(join(pki.dir, 'not-a-cert.pem'), gw1.certFile))).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.issues.map((i) => [i.path, i.line]), [['/routes/0/upstream/tls/cert', 9], ['/routes/0/upstream/tls/key', 10]]);
    assert.match(err.issues[0]!.message, /not-a-cert\.pem\}\) is not a PEM certificate/);
    assert.match(err.issues[1]!.message, /gw1\.pem\}\) is not a PEM private key/);
  });
});
