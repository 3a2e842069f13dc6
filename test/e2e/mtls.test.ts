import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { makeTestPki } from '../harness/tls.js';
import { OpensslCa, type Ca, type Pem } from '../harness/openssl-ca.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { startJwksServer, testKey, sign, type JwksServer, type TestKey } from '../authn/fixtures.js';

// Real TLS end to end: client certificates made with openssl in the test, a gateway listener that
// verifies them against its own client CA, and clients (node, curl) presenting them.
const exec = promisify(execFile);
const SPIFFE = 'spiffe://example.org/ns/billing/sa/api';

const pki = new OpensslCa();
const file = (name: string): string => pki.file(name);
const makeCa = (name: string): Ca => pki.makeCa(name);
const issue = (ca: Ca, name: string, cn: string, san?: string, dates?: string[]): Pem => pki.issue(ca, name, cn, { ...(san ? { san } : {}), ...(dates ? { dates } : {}) });

let server: ReturnType<typeof makeTestPki>;
let clients: Ca;
let good: Pem, ops: Pem, noSpiffe: Pem, expired: Pem, foreign: Pem;
let upstream: TestUpstream;
let jwks: JwksServer;
let key: TestKey;

before(async () => {
  server = makeTestPki();
  clients = makeCa('clients-ca');
  const other = makeCa('other-ca');
  good = issue(clients, 'good', 'billing-api', `URI:${SPIFFE},DNS:billing.internal`);
  ops = issue(clients, 'ops', 'ops-alice');
  noSpiffe = issue(clients, 'nospiffe', 'billing-batch', 'DNS:batch.internal');
  expired = issue(clients, 'expired', 'billing-old', `URI:${SPIFFE}`, ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z']);
  foreign = issue(other, 'foreign', 'billing-api', `URI:${SPIFFE}`);
  upstream = await startUpstream();
  key = await testKey('ES256');
  jwks = await startJwksServer([key.jwk]);
});
after(async () => { await upstream.close(); await jwks.close(); pki.remove(); rmSync(server.dir, { recursive: true, force: true }); });

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: string; json(): Record<string, unknown> }

function get(gw: TestGateway, path: string, client?: Pem, headers: Record<string, string> = {}, agent?: https.Agent, onSocket?: (reused: boolean) => void): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port: Number(new URL(gw.url).port), path, servername: 'localhost', ca: server.caPem, agent: agent ?? false, headers,
      ...(client ? { cert: client.cert, key: client.key } : {}),
    }, (res) => {
      onSocket?.((res.socket as TLSSocket).isSessionReused());
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end();
  });
}

function assertRefused(res: Reply, code: string, detail?: RegExp): void {
  assert.equal(res.status, 401, res.body);
  assert.equal(res.json().code, code);
  if (detail) assert.match(String(res.json().detail), detail);
}

const providers = (): Record<string, unknown> => ({
  mesh: {
    type: 'mtls', subject: 'spiffe',
    roles: [{ match: { spiffe: 'spiffe://example.org/ns/billing/*/*' }, roles: ['billing'] }, { match: { dns: '*.internal', issuerCn: 'clients-ca' }, roles: ['internal'] }],
  },
  people: { type: 'mtls', subject: 'cn', roles: [{ match: { cn: 'ops-*' }, roles: ['ops'] }] },
  local: { type: 'oidc', issuer: jwks.issuer, jwksUri: jwks.jwksUri, audience: 'api://local', algorithms: ['ES256'] },
});
const route = (name: string, path: string, authenticate: string[], allow?: unknown[]) => ({
  name, match: { path }, authenticate, ...(allow ? { allow } : {}), upstream: { url: upstream.url },
});

describe('clientAuth: optional', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({
      listen: { tls: { cert: server.certPem, key: server.keyPem, clientCa: clients.pem, clientAuth: 'optional' } },
      providers: providers(),
      routes: [
        route('svc', '/svc/*', ['mesh'], [{ name: 'billing', roles: ['billing'] }]),
        route('ops', '/ops/*', ['people'], [{ name: 'ops', roles: ['ops'] }]),
        route('mixed', '/mixed/*', ['mesh', 'local']),
      ],
    });
  });
  after(async () => { await gw.stop(); });

  test('a certificate from the client CA with CN and SPIFFE ID passes; identity headers carry it', async () => {
    const res = await get(gw, '/svc/invoices', good);
    assert.equal(res.status, 200, res.body);
    const seen = upstream.seen.at(-1)!.headers;
    assert.equal(seen['x-gatehouse-subject'], SPIFFE);
    assert.equal(seen['x-gatehouse-provider'], 'mesh');
    assert.equal(seen['x-gatehouse-auth-method'], 'mtls');
    assert.equal(seen['x-gatehouse-roles'], 'billing,internal');
    assert.equal(seen['x-gatehouse-issuer'], 'clients-ca');
    const line = await gw.auditLine((l) => (l.identity as { subject?: string } | null)?.subject === SPIFFE);
    assert.deepEqual(line?.decision, { allow: true, rule: 'billing', reason: 'allowed' });
  });

  test('curl presenting the certificate (--cert/--key/--cacert) passes', async () => {
    const port = new URL(gw.url).port;
    writeFileSync(file('server-ca.pem'), server.caPem);
    const { stdout } = await exec('curl', ['-sS', '--cacert', file('server-ca.pem'), '--cert', good.certFile, '--key', good.keyFile,
      '--resolve', `localhost:${port}:127.0.0.1`, '-w', '\n%{http_code}', `https://localhost:${port}/svc/curl`]);
    assert.match(stdout, /\n200$/);
    assert.equal(upstream.seen.at(-1)!.url, '/svc/curl');
    assert.equal(upstream.seen.at(-1)!.headers['x-gatehouse-subject'], SPIFFE);
  });

  test('subject cn and a CN pattern: role mapping decides the allow rule', async () => {
    const res = await get(gw, '/ops/x', ops);
    assert.equal(res.status, 200, res.body);
    assert.equal(upstream.seen.at(-1)!.headers['x-gatehouse-subject'], 'ops-alice');
    assert.equal((await get(gw, '/ops/x', good)).status, 403, 'billing-api has no ops role');
    assert.equal((await get(gw, '/svc/x', noSpiffe)).json().code, 'client_certificate_invalid');
  });

  test('an expired certificate from the trusted CA is refused: client_certificate_invalid', async () => {
    assertRefused(await get(gw, '/svc/x', expired), 'client_certificate_invalid', /expired/);
  });

  test('a certificate from another CA is refused, even with the same CN and SPIFFE ID', async () => {
    const count = upstream.seen.length;
    assertRefused(await get(gw, '/svc/x', foreign), 'client_certificate_invalid', /not issued by a trusted CA/);
    assertRefused(await get(gw, '/mixed/x', foreign, { authorization: `Bearer ${await sign(key, jwks.issuer, { aud: 'api://local' })}` }), 'client_certificate_invalid');
    assert.equal(upstream.seen.length, count, 'never forwarded');
  });

  test('a resumed TLS session keeps the verified certificate', async () => {
    const agent = new https.Agent({ keepAlive: false, maxCachedSessions: 10 });
    const sessions: boolean[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const res = await get(gw, '/svc/resume', good, {}, agent, (reused) => sessions.push(reused));
        assert.equal(res.status, 200, res.body);
        assert.equal(upstream.seen.at(-1)!.headers['x-gatehouse-subject'], SPIFFE);
      }
    } finally {
      agent.destroy();
    }
    assert.deepEqual(sessions, [false, true, true], 'the later connections resumed the session');
  });

  test('no certificate: not mine, so the route falls back to its other method', async () => {
    const token = await sign(key, jwks.issuer, { aud: 'api://local', sub: 'svc-jwt' });
    const res = await get(gw, '/mixed/x', undefined, { authorization: `Bearer ${token}` });
    assert.equal(res.status, 200, res.body);
    assert.equal(upstream.seen.at(-1)!.headers['x-gatehouse-subject'], 'svc-jwt');
    // A route that takes certificates only names what is missing; one with another method asks for either.
    const bare = await get(gw, '/svc/x');
    assert.equal(bare.status, 401);
    assert.equal(bare.json().code, 'client_certificate_required', bare.body);
    assert.equal(bare.headers['www-authenticate'], undefined, 'no bearer challenge for a certificate');
    const mixed = await get(gw, '/mixed/x');
    assert.equal(mixed.status, 401);
    assert.equal(mixed.json().code, 'token_missing');
    assert.match(String(mixed.json().detail), /client certificate or a bearer token/);
  });
});

describe('clientAuth: required', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({
      listen: { tls: { cert: server.certPem, key: server.keyPem, clientCa: clients.pem, clientAuth: 'required' } },
      providers: providers(),
      routes: [route('svc', '/svc/*', ['mesh'])],
    });
  });
  after(async () => { await gw.stop(); });

  test('a valid certificate passes', async () => {
    assert.equal((await get(gw, '/svc/x', good)).status, 200);
  });

  test('no certificate, another CA or an expired one: the TLS handshake itself refuses', async () => {
    const count = upstream.seen.length;
    await assert.rejects(get(gw, '/svc/x'));
    await assert.rejects(get(gw, '/svc/x', foreign));
    await assert.rejects(get(gw, '/svc/x', expired));
    const port = new URL(gw.url).port;
    await assert.rejects(exec('curl', ['-sS', '--cacert', file('server-ca.pem'), '--resolve', `localhost:${port}:127.0.0.1`, `https://localhost:${port}/svc/x`]));
    assert.equal(upstream.seen.length, count);
  });
});

test('the fingerprint is the SHA-256 of the certificate, usable as subject', async () => {
  const gw = await startGateway({
    listen: { tls: { cert: server.certPem, key: server.keyPem, clientCa: clients.pem } },
    providers: { fp: { type: 'mtls', subject: 'fingerprint' } },
    routes: [route('svc', '/svc/*', ['fp'])],
  });
  try {
    assert.equal((await get(gw, '/svc/x', good)).status, 200);
    const want = new X509Certificate(good.cert).fingerprint256.replace(/:/g, '').toLowerCase();
    assert.equal(upstream.seen.at(-1)!.headers['x-gatehouse-subject'], want);
  } finally {
    await gw.stop();
  }
});
