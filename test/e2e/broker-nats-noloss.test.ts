import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { readStream, startNatsServer, type TestNatsServer } from '../harness/nats.js';
import { formatApiKeyHash, generateApiKey } from '../../src/authn/apikey/format.js';

// No loss across a broker crash: a real nats-server of the test's own (JetStream file storage, so
// the stream survives a restart) is SIGKILLed under load and started again on the same port and
// store. Clients retry a 5xx with the same idempotency key, as the docs tell them to; afterwards
// every message the gateway answered 202 for is in the stream exactly once.
const NATS_SERVER = process.env.NATS_SERVER ?? 'nats-server';
const STREAM = 'GH_NOLOSS';
const SUBJECT = 'noloss.orders';
const CLIENTS = 20;
const LOAD_MS = 4000;
const KILL_AFTER_MS = 1500;
const DOWN_MS = 1000;
const RETRIES = 20;
const RETRY_PAUSE_MS = 250;
const STABLE_5XX = new Set(['broker_unavailable', 'broker_timeout']);
let server: TestNatsServer | undefined;
let gw: TestGateway;
let key = '';
/** The gateway's operational log, one JSON line each. */
const logged: Record<string, unknown>[] = [];

before(async () => {
  if (spawnSync(NATS_SERVER, ['--version']).status !== 0) {
    if (process.env.CI === 'true') throw new Error(`${NATS_SERVER} is not installed`);
    console.error(`\n!!! SKIPPING the NATS no-loss test: no ${NATS_SERVER} binary\n`);
    return;
  }
  server = await startNatsServer();
  const nc = await connect({ servers: server.url });
  await (await jetstreamManager(nc)).streams.add({ name: STREAM, subjects: ['noloss.>'], storage: StorageType.File, duplicate_window: nanos(10 * 60_000) });
  await nc.close();
  const generated = generateApiKey();
  key = generated.key;
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-noloss-'));
  writeFileSync(join(dir, 'keys.yaml'), `keys:\n  - ${JSON.stringify({ id: generated.id, name: 'shop', roles: ['writer'], hash: formatApiKeyHash(generated.key) })}\n`);
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { logged.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } });
  gw = await startGateway({
    providers: { partners: { type: 'api-key', keys: join(dir, 'keys.yaml') } },
    routes: [{ name: 'orders', match: { path: '/orders', methods: ['POST'] }, authenticate: ['partners'], allow: [{ roles: ['writer'] }],
      upstream: { type: 'nats', servers: server.url, stream: STREAM, destination: SUBJECT, timeout: '2s', requireIdempotencyKey: true } }],
  }, { log: pino({ level: 'info' }, sink) });
});

after(async () => {
  await gw?.stop();
  await server?.stop();
});

interface Tally { accepted: Map<string, string>; duplicates: number; failed5xx: number; retries: number; givenUp: number; codes: Map<string, number>; unstable: string[] }

/** POST one order with `idem`, retrying a 5xx with the same key; records what each answer was. */
async function send(idem: string, tally: Tally): Promise<void> {
  for (let attempt = 0; attempt <= RETRIES; attempt++) {
    if (attempt > 0) { tally.retries++; await sleep(RETRY_PAUSE_MS); }
    const res = await fetch(`${gw.url}/orders`, { method: 'POST', body: JSON.stringify({ idem }), headers: { 'content-type': 'application/json', 'x-api-key': key, 'idempotency-key': idem } });
    const body = (await res.json()) as Record<string, unknown>;
    if (res.status === 202) {
      tally.accepted.set(idem, String(body.id));
      if (body.duplicate === true) tally.duplicates++;
      return;
    }
    const code = String(body.code);
    tally.codes.set(`${res.status} ${code}`, (tally.codes.get(`${res.status} ${code}`) ?? 0) + 1);
    if (res.status < 500) { tally.unstable.push(`${res.status} ${code}`); return; }
    tally.failed5xx++;
    if (!STABLE_5XX.has(code) || !/application\/problem\+json/.test(res.headers.get('content-type') ?? '') || typeof body.request_id !== 'string') tally.unstable.push(`${res.status} ${JSON.stringify(body)}`);
  }
  tally.givenUp++;
}

test('a broker killed and restarted under load loses no accepted message and stores none twice', async (t) => {
  if (server === undefined) return t.skip('no nats-server');
  const nats = server;
  const tally: Tally = { accepted: new Map(), duplicates: 0, failed5xx: 0, retries: 0, givenUp: 0, codes: new Map(), unstable: [] };
  const started = Date.now();
  const clients = Array.from({ length: CLIENTS }, async (_, c) => {
    for (let n = 0; Date.now() - started < LOAD_MS; n++) await send(`c${c}-${n}`, tally);
  });
  const crash = (async () => {
    await sleep(KILL_AFTER_MS);
    await nats.kill();
    await sleep(DOWN_MS);
    await nats.start();
  })();
  await Promise.all([...clients, crash]);

  const after = await fetch(`${gw.url}/orders`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', 'x-api-key': key, 'idempotency-key': 'after-the-crash' } });
  assert.equal(after.status, 202, 'the gateway answers and publishes again after the broker came back');

  const nc: NatsConnection = await connect({ servers: nats.url });
  const stored = await readStream(jetstream(nc), STREAM);
  await nc.close();
  const perId = new Map<string, number>();
  for (const m of stored) {
    const id = m.headers?.get('Nats-Msg-Id') ?? '';
    assert.equal(m.headers?.get('ce-id'), id);
    perId.set(id, (perId.get(id) ?? 0) + 1);
  }
  const missing = [...tally.accepted].filter(([, id]) => !perId.has(id)).map(([idem]) => idem);
  const twice = [...perId].filter(([, n]) => n > 1).map(([id]) => id);
  console.log(`no-loss: ${tally.accepted.size} keys answered 202 (${tally.duplicates} of them duplicate: stored before a lost ack), ${tally.failed5xx} 5xx answers (${[...tally.codes].map(([c, n]) => `${c} ×${n}`).join(', ') || 'none'}), ` +
    `${tally.retries} retries, ${tally.givenUp} keys given up after ${RETRIES} retries, ${stored.length} messages in the stream (${perId.size} distinct ids), ` +
    `${missing.length} accepted but missing, ${twice.length} stored twice`);
  assert.ok(tally.failed5xx > 0, 'the crash was felt: some requests were answered 5xx (else the test did not test anything)');
  assert.deepEqual(tally.unstable, [], 'every refusal is a 5xx problem body with a stable code');
  assert.deepEqual(missing, [], 'every key answered 202 is in the stream');
  assert.deepEqual(twice, [], 'no message is stored twice');
  assert.equal(stored.length, perId.size);
  assert.ok(perId.size >= tally.accepted.size);
  const states = logged.filter((l) => l.broker === nats.url).map((l) => `${String(l.msg)}${l.error === undefined ? '' : ` (${String(l.error)})`}`);
  assert.deepEqual(states, ['message broker connected', 'message broker unavailable (disconnected)', 'message broker connected'], 'the log says when the connection was lost and made again');
});

test('a publish still waiting for its PubAck when the server dies is 503 broker_unavailable, never a 202; its retry is one message', async (t) => {
  if (server === undefined) return t.skip('no nats-server');
  const post = (): Promise<Response> => fetch(`${gw.url}/orders`, { method: 'POST', body: '{"n":1}', headers: { 'content-type': 'application/json', 'x-api-key': key, 'idempotency-key': 'in-flight-at-the-crash' } });
  server.pause(); // the publish reaches the server's socket, and no PubAck comes back
  const waiting = post();
  const first = await Promise.race([waiting, sleep(300).then(() => 'still waiting' as const)]);
  assert.equal(first, 'still waiting', 'no answer without a PubAck');
  await server.kill();
  const res = await waiting;
  const body = (await res.json()) as Record<string, unknown>;
  assert.deepEqual([res.status, body.code], [503, 'broker_unavailable'], 'the dropped connection fails the waiting publish (the route timeout is 2 s: 504 would mean it was not noticed)');
  await server.start();
  let retry: Response | undefined;
  for (let i = 0; i < 20 && retry?.status !== 202; i++) {
    if (i > 0) await sleep(RETRY_PAUSE_MS);
    retry = await post();
  }
  assert.equal(retry?.status, 202, 'the retry is accepted once the client reconnected');
  const nc = await connect({ servers: server.url });
  const copies = (await readStream(jetstream(nc), STREAM)).filter((m) => m.json<{ n?: number }>().n === 1);
  await nc.close();
  assert.equal(copies.length, 1, 'the message is in the stream once');
});
