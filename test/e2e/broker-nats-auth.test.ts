import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { connect, nkeyAuthenticator, nkeys, type NodeConnectionOptions } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { readStream, startNatsServer, type TestNatsServer } from '../harness/nats.js';
import { freePort } from '../harness/redis.js';
import { makeTestPki } from '../harness/tls.js';

// A real nats-server of the test's own that requires TLS (a CA made at test time) and a user and
// password (random per run): the gateway reaches it with the pinned CA and the password from a
// reference, and a wrong password or an untrusted certificate is a 503 that shows no secret.
const NATS_SERVER = process.env.NATS_SERVER ?? 'nats-server';
const STREAM = 'GH_AUTH';
const SUBJECT = 'auth.orders';
const PASSWORD = randomBytes(12).toString('hex');
const WRONG = `wrong-${randomBytes(12).toString('hex')}`;
let server: TestNatsServer | undefined;
let monitor = '';
let pki: ReturnType<typeof makeTestPki>;
let gw: TestGateway;
const logged: string[] = [];

before(async () => {
  if (spawnSync(NATS_SERVER, ['--version']).status !== 0) {
    if (process.env.CI === 'true') throw new Error(`${NATS_SERVER} is not installed`);
    console.error(`\n!!! SKIPPING the NATS TLS and authentication tests: no ${NATS_SERVER} binary\n`);
    return;
  }
  pki = makeTestPki();
  const client = { user: 'gatehouse', pass: PASSWORD, tls: { ca: pki.caPem } };
  const monitorPort = await freePort();
  monitor = `http://127.0.0.1:${monitorPort}`;
  server = await startNatsServer(['--user', 'gatehouse', '--pass', PASSWORD, '--tls', '--tlscert', join(pki.dir, 'cert.pem'), '--tlskey', join(pki.dir, 'key.pem'), '-m', String(monitorPort)], client);
  const nc = await connect({ ...client, servers: server.url });
  await (await jetstreamManager(nc)).streams.add({ name: STREAM, subjects: ['auth.>'], storage: StorageType.Memory });
  await nc.close();
  process.env.GH_TEST_NATS_PASSWORD = PASSWORD;
  process.env.GH_TEST_NATS_WRONG = WRONG;
  const caFile = join(pki.dir, 'ca-copy.pem');
  writeFileSync(caFile, pki.caPem);
  const tls = { type: 'nats', servers: server.url.replace('nats://', 'tls://'), user: 'gatehouse', destination: SUBJECT, timeout: '2s' };
  const route = (name: string, upstream: Record<string, unknown>): Record<string, unknown> => ({ name, match: { path: `/${name}`, methods: ['POST'] }, public: true, upstream });
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { logged.push(chunk.toString()); done(); } });
  gw = await startGateway({
    routes: [
      route('good', { ...tls, ca: `\${file:${caFile}}`, password: '${env:GH_TEST_NATS_PASSWORD}' }),
      route('wrong', { ...tls, ca: `\${file:${caFile}}`, password: '${env:GH_TEST_NATS_WRONG}' }),
      route('untrusted', { ...tls, password: '${env:GH_TEST_NATS_PASSWORD}' }),
    ],
  }, { log: pino({ level: 'debug' }, sink) });
});

after(async () => {
  await gw?.stop();
  await server?.stop();
  if (pki) rmSync(pki.dir, { recursive: true, force: true });
});

async function post(path: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(gw.url + path, { method: 'POST', body: '{"sku":"A"}', headers: { 'content-type': 'application/json' } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test('over TLS with the pinned CA and a password from a reference, the message is acknowledged and stored', async (t) => {
  if (server === undefined) return t.skip('no nats-server');
  const res = await post('/good');
  assert.equal(res.status, 202, JSON.stringify(res.json));
  const nc = await connect({ servers: server.url, user: 'gatehouse', pass: PASSWORD, tls: { ca: pki.caPem } });
  const stored = await readStream(jetstream(nc), STREAM);
  await nc.close();
  assert.deepEqual(stored.map((m) => m.headers?.get('ce-id')), [res.json.id]);
});

test('a wrong password is 503 broker_unavailable, and no password is in the answer, the audit line or the log', async (t) => {
  if (server === undefined) return t.skip('no nats-server');
  const res = await post('/wrong');
  assert.deepEqual([res.status, res.json.code], [503, 'broker_unavailable']);
  const line = await gw.auditLine((l) => l.route === 'wrong');
  assert.equal(line?.error, 'broker_unavailable');
  assert.match(String(line?.error_detail), /AuthorizationError/, 'the audit line says why');
  const everything = [JSON.stringify(res.json), JSON.stringify(await gw.audit()), ...logged].join('\n');
  assert.ok(logged.some((l) => l.includes('message broker unavailable')), 'the failed connection is logged');
  assert.equal(everything.includes(WRONG), false, 'the wrong password is shown nowhere');
  assert.equal(everything.includes(PASSWORD), false, 'the right one neither');
});

test('a server certificate the trusted roots do not vouch for is 503 broker_unavailable (TLS is verified, not just encrypted)', async (t) => {
  if (server === undefined) return t.skip('no nats-server');
  const res = await post('/untrusted');
  assert.deepEqual([res.status, res.json.code], [503, 'broker_unavailable']);
  const line = await gw.auditLine((l) => l.route === 'untrusted');
  assert.equal(line?.error, 'broker_unavailable');
  assert.match(String(line?.error_detail), /VERIFY|CERT/);
});

test('the gateway drains and closes its NATS connection when it stops', async (t) => {
  if (server === undefined) return t.skip('no nats-server');
  const gatehouseConnections = async (): Promise<number> => {
    const connz = (await (await fetch(`${monitor}/connz`)).json()) as { connections?: { name?: string }[] };
    return (connz.connections ?? []).filter((c) => c.name === 'gatehouse').length;
  };
  const own = await startGateway({ routes: [{ name: 'one', match: { path: '/one', methods: ['POST'] }, public: true,
    upstream: { type: 'nats', servers: server.url.replace('nats://', 'tls://'), ca: pki.caPem, user: 'gatehouse', password: '${env:GH_TEST_NATS_PASSWORD}', destination: SUBJECT } }] });
  const before = await gatehouseConnections();
  const res = await fetch(`${own.url}/one`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 202);
  assert.equal(await gatehouseConnections(), before + 1, 'one connection, made on first use');
  await own.stop();
  let after = before + 1;
  for (let i = 0; i < 40 && after !== before; i++) {
    await new Promise((r) => setTimeout(r, 50));
    after = await gatehouseConnections();
  }
  assert.equal(after, before, 'closed when the gateway stopped');
});

test('token and NKey seed authentication reach servers that require them', async (t) => {
  if (server === undefined) return t.skip('no nats-server');
  const token = randomBytes(16).toString('hex');
  const user = nkeys.createUser();
  const seed = new TextDecoder().decode(user.getSeed());
  const conf = join(mkdtempSync(join(tmpdir(), 'gatehouse-nats-conf-')), 'nkey.conf');
  writeFileSync(conf, `authorization { users = [ { nkey: "${user.getPublicKey()}" } ] }\n`);
  const servers: TestNatsServer[] = [];
  let own: TestGateway | undefined;
  try {
    const withStream = async (args: string[], client: NodeConnectionOptions): Promise<TestNatsServer> => {
      const s = await startNatsServer(args, client);
      servers.push(s);
      const nc = await connect({ ...client, servers: s.url });
      await (await jetstreamManager(nc)).streams.add({ name: STREAM, subjects: ['auth.>'], storage: StorageType.Memory });
      await nc.close();
      return s;
    };
    const byToken = await withStream(['--auth', token], { token });
    const byNkey = await withStream(['-c', conf], { authenticator: nkeyAuthenticator(user.getSeed()) });
    process.env.GH_TEST_NATS_TOKEN = token;
    process.env.GH_TEST_NATS_SEED = seed;
    const route = (name: string, upstream: Record<string, unknown>): Record<string, unknown> => ({ name, match: { path: `/${name}`, methods: ['POST'] }, public: true, upstream: { type: 'nats', destination: SUBJECT, ...upstream } });
    own = await startGateway({ routes: [
      route('token', { servers: byToken.url, token: '${env:GH_TEST_NATS_TOKEN}' }),
      route('nkey', { servers: byNkey.url, nkey: '${env:GH_TEST_NATS_SEED}' }),
      route('anonymous', { servers: byNkey.url }),
    ] });
    const status = async (path: string): Promise<number> => (await fetch(`${own!.url}${path}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status;
    assert.deepEqual([await status('/token'), await status('/nkey'), await status('/anonymous')], [202, 202, 503], 'token and seed accepted; without credentials refused');
  } finally {
    await own?.stop();
    for (const s of servers) await s.stop();
  }
});
