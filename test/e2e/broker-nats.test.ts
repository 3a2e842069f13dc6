import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager, StorageType, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { writeApiKeyFile } from '../harness/api-keys.js';
import { readStream } from '../harness/nats.js';

// Real NATS JetStream (NATS_URL, default the machine's server): the test makes its own stream,
// publishes through the gateway and reads the stream with a JetStream consumer, as a service would.
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const SUFFIX = `${process.pid}_${Date.now()}`;
const STREAM = `GH_ORDERS_${SUFFIX}`;
const P = `gh.${SUFFIX}`;
const ORDERS = `${P}.orders`;
const INVOICES = `${P}.invoices`;
const PAYMENTS = `${P}.payments`;
const NO_STREAM = `gh-nostream.${SUFFIX}`;
let nc: NatsConnection;
let jsm: JetStreamManager;
let js: JetStreamClient;
let gw: TestGateway;
const keys: Record<string, string> = {};


before(async () => {
  try {
    nc = await connect({ servers: NATS_URL, timeout: 2000 });
    jsm = await jetstreamManager(nc);
  } catch (err) {
    await nc?.close();
    if (process.env.CI === 'true') throw new Error(`NATS JetStream is not reachable at ${NATS_URL}: ${(err as Error).message}`);
    console.error(`\n!!! SKIPPING NATS broker tests: no NATS JetStream at ${NATS_URL}\n`);
    nc = undefined as unknown as NatsConnection;
    return;
  }
  js = jetstream(nc);
  await jsm.streams.add({ name: STREAM, subjects: [`${P}.>`], storage: StorageType.Memory, duplicate_window: nanos(120_000) });
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-nats-'));
  const keysFile = join(dir, 'keys.yaml');
  Object.assign(keys, writeApiKeyFile(keysFile, [{ name: 'shop', roles: ['writer'] }, { name: 'other-shop', roles: ['writer'] }]));
  const nats = { type: 'nats', servers: NATS_URL, timeout: '3s' };
  gw = await startGateway({
    providers: { partners: { type: 'api-key', keys: keysFile } },
    routes: [
      { name: 'orders', match: { path: '/orders', methods: ['POST'] }, authenticate: ['partners'], allow: [{ roles: ['writer'] }],
        upstream: { ...nats, stream: STREAM, destination: ORDERS, assertion: { audience: 'orders-consumer' }, cloudEvents: { type: 'com.example.order.submitted' } } },
      { name: 'events', match: { path: '/events/:topic', methods: ['POST'] }, authenticate: ['partners'], allow: [{ roles: ['writer'] }],
        upstream: { ...nats, servers: [NATS_URL], destination: { param: 'topic', allow: [INVOICES, PAYMENTS, NO_STREAM] } } },
      { name: 'big', match: { path: '/big', methods: ['POST'] }, authenticate: ['partners'], allow: [{ roles: ['writer'] }], maxBodySize: '4mb',
        upstream: { ...nats, destination: `${P}.big` } },
      { name: 'pinned', match: { path: '/pinned', methods: ['POST'] }, authenticate: ['partners'], allow: [{ roles: ['writer'] }],
        upstream: { ...nats, stream: `NOT_${STREAM}`, destination: INVOICES } },
      { name: 'down', match: { path: '/down', methods: ['POST'] }, authenticate: ['partners'], allow: [{ roles: ['writer'] }],
        upstream: { type: 'nats', servers: 'nats://127.0.0.1:1', destination: ORDERS, timeout: '2s' } },
    ],
  });
});

after(async () => {
  await gw?.stop();
  await jsm?.streams.delete(STREAM).catch(() => undefined);
  await nc?.close();
});

const skip = (): boolean => nc === undefined;

async function post(path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(gw.url + path, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-api-key': keys.shop!, ...headers } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** The stream's messages on `subject`, as a JetStream consumer receives them. */
async function received(subject: string): Promise<JsMsg[]> {
  return (await readStream(js, STREAM)).filter((m) => m.subject === subject);
}

test('an accepted request is one acknowledged JetStream message with the verified identity, CloudEvents headers and a verifiable assertion', async (t) => {
  if (skip()) return t.skip('no NATS');
  const res = await post('/orders', '{"sku":"A-1"}', {
    // A caller trying to speak for someone else, or to steer JetStream, through headers:
    'ce-authid': 'admin', 'ce-authclaims': '{"roles":["admin"]}', 'nats-msg-id': 'forged', 'nats-expected-stream': 'X',
    'x-gatehouse-assertion': 'forged', 'traceparent': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  assert.deepEqual([res.json.destination, res.json.duplicate], [ORDERS, false]);
  const [m, ...more] = await received(ORDERS);
  assert.ok(m, 'the message is in the stream once 202 was answered');
  assert.equal(more.length, 0);
  assert.equal(m.string(), '{"sku":"A-1"}');
  const h = (name: string): string | undefined => (m.headers?.has(name) ? m.headers.get(name) : undefined);
  assert.equal(h('Nats-Msg-Id'), res.json.id, 'the message id is JetStream\'s de-duplication id');
  assert.equal(h('content-type'), 'application/json');
  assert.equal(h('ce-specversion'), '1.0');
  assert.equal(h('ce-id'), res.json.id);
  assert.equal(h('ce-type'), 'com.example.order.submitted');
  assert.equal(h('ce-subject'), ORDERS);
  assert.equal(h('ce-authid'), 'shop', 'the verified subject, not the header the caller sent');
  const claims = JSON.parse(h('ce-authclaims')!) as Record<string, unknown>;
  assert.deepEqual([claims.provider, claims.roles], ['partners', ['writer']]);
  assert.match(h('ce-traceparent')!, /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/, 'the trace continues into the message');
  assert.notEqual(h('ce-gatehouseassertion'), 'forged');
  const { payload } = await jwtVerify(h('ce-gatehouseassertion')!, createRemoteJWKSet(new URL(`${gw.url}/.well-known/jwks.json`)), { audience: 'orders-consumer' });
  assert.equal(payload.sub, 'shop');
  const line = await gw.auditLine((l) => l.route === 'orders' && l.status === 202);
  const message = line?.message as Record<string, unknown> | undefined;
  assert.equal(message?.broker_id, `${STREAM}:${m.seq}`, 'the audit line names the stream and sequence');
});

test('the same idempotency key twice is one message in the stream: the second 202 says duplicate', async (t) => {
  if (skip()) return t.skip('no NATS');
  const a = await post('/events/' + INVOICES, '{"n":1}', { 'idempotency-key': 'inv-42' });
  const b = await post('/events/' + INVOICES, '{"n":1}', { 'idempotency-key': 'inv-42' });
  assert.equal(a.status, 202, JSON.stringify(a.json));
  assert.equal(b.status, 202, JSON.stringify(b.json));
  assert.deepEqual([a.json.duplicate, b.json.duplicate], [false, true]);
  assert.equal(a.json.id, b.json.id);
  assert.equal((await received(INVOICES)).length, 1, 'JetStream stored the retry once');
  const other = await post('/events/' + INVOICES, '{"n":1}', { 'idempotency-key': 'inv-42', 'x-api-key': keys['other-shop']! });
  assert.deepEqual([other.status, other.json.duplicate], [202, false], 'another caller reusing the key is its own message');
  assert.equal((await received(INVOICES)).length, 2);
});

test('a destination outside the allow-list is 404; a subject no stream captures is 503 broker_refused, not silence', async (t) => {
  if (skip()) return t.skip('no NATS');
  const before = (await jsm.streams.info(STREAM)).state.messages;
  const unknown = await post(`/events/${P}.other`, '{}');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.code, 'destination_not_found');
  const lost = await post('/events/' + NO_STREAM, '{}');
  assert.equal(lost.status, 503, JSON.stringify(lost.json));
  assert.equal(lost.json.code, 'broker_refused');
  const line = await gw.auditLine((l) => l.route === 'events' && l.error === 'broker_refused');
  assert.match(String(line?.error_detail), /no stream captures/);
  const pinned = await post('/pinned', '{}');
  assert.equal(pinned.status, 503, 'a subject captured by another stream than the route names is refused');
  assert.equal(pinned.json.code, 'broker_refused');
  assert.equal((await jsm.streams.info(STREAM)).state.messages, before, 'nothing was stored');
});

test('an unreachable server is 503 broker_unavailable at once, without internal addresses', async (t) => {
  if (skip()) return t.skip('no NATS');
  for (let i = 0; i < 2; i++) {
    const res = await post('/down', '{}');
    assert.equal(res.status, 503);
    assert.equal(res.json.code, 'broker_unavailable');
    assert.equal(JSON.stringify(res.json).includes('127.0.0.1'), false, 'no internal address to the client');
  }
});

test('a body larger than the server\'s max_payload is 422 message_unsendable, not stored', async (t) => {
  if (skip()) return t.skip('no NATS');
  const max = nc.info!.max_payload;
  const res = await post('/big', JSON.stringify('x'.repeat(max)));
  assert.deepEqual([res.status, res.json.code], [422, 'message_unsendable']);
  const line = await gw.auditLine((l) => l.route === 'big');
  assert.match(String(line?.error_detail), /max_payload/);
  assert.equal((await received(`${P}.big`)).length, 0);
});

test('dead letters as docs/brokers.md says: after max_deliver the MAX_DELIVERIES advisory names the message, which keeps its ce- headers', async (t) => {
  if (skip()) return t.skip('no NATS');
  const consumer = `billing_${SUFFIX}`;
  await jsm.consumers.add(STREAM, { durable_name: consumer, filter_subject: PAYMENTS, ack_policy: AckPolicy.Explicit, max_deliver: 2 });
  const advisories = nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${STREAM}.${consumer}`, { max: 1, timeout: 10_000 });
  const res = await post('/events/' + PAYMENTS, '{"amount":12}');
  assert.equal(res.status, 202);
  const c = await js.consumers.get(STREAM, consumer);
  for (let delivery = 1; delivery <= 2; delivery++) {
    const m = await c.next({ expires: 2000 });
    assert.equal(m?.info.deliveryCount, delivery);
    m!.nak(); // the consumer's own policy refuses it
  }
  assert.equal(await c.next({ expires: 1000 }), null, 'not delivered a third time');
  let advisory: { stream_seq: number; deliveries: number } | undefined;
  for await (const msg of advisories) advisory = msg.json();
  assert.equal(advisory?.deliveries, 2);
  const dead = await jsm.streams.getMessage(STREAM, { seq: advisory!.stream_seq });
  assert.equal(dead?.header.get('ce-id'), res.json.id);
  const line = await gw.auditLine((l) => l.route === 'events' && (l.message as { id?: string } | undefined)?.id === res.json.id);
  assert.match(String(line?.request_id), /^[0-9a-f]{32}$/);
  assert.equal(dead?.header.get('ce-gatehouserequestid'), line?.request_id, 'the dead letter leads to the audit line of its request');
});
