import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ChannelModel, type Channel, type GetMessage } from 'amqplib';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { takeMessage } from '../harness/rabbitmq.js';
import { writeApiKeyFile } from '../harness/api-keys.js';

// Real RabbitMQ (AMQP_URL, default the machine's broker): publish through the gateway, read the
// queue with amqplib, check what the consumer sees and what a caller cannot set.
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const SUFFIX = `${process.pid}-${Date.now()}`;
const ORDERS = `gh-orders-${SUFFIX}`;
const INVOICES = `gh-invoices-${SUFFIX}`;
const UNBOUND = `gh-unbound-${SUFFIX}`;
let broker: ChannelModel;
let ch: Channel;
let gw: TestGateway;
const keys: Record<string, string> = {};


before(async () => {
  try {
    broker = await connect(AMQP_URL);
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`RabbitMQ is not reachable at ${AMQP_URL}: ${(err as Error).message}`);
    console.error(`\n!!! SKIPPING RabbitMQ broker tests: no broker at ${AMQP_URL}\n`);
    return;
  }
  ch = await broker.createChannel();
  for (const q of [ORDERS, INVOICES]) await ch.assertQueue(q, { durable: false, autoDelete: false });
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-broker-'));
  const keysFile = join(dir, 'keys.yaml');
  Object.assign(keys, writeApiKeyFile(keysFile, [{ name: 'shop', roles: ['writer'] }, { name: 'viewer', roles: ['reader'] }, { name: 'other-shop', roles: ['writer'] }]));
  process.env.GH_TEST_AMQP_URL = AMQP_URL;
  const mq = { type: 'rabbitmq', url: '${env:GH_TEST_AMQP_URL}', timeout: '3s' };
  gw = await startGateway({
    providers: { partners: { type: 'api-key', keys: keysFile } },
    routes: [
      { name: 'orders', match: { path: '/orders', methods: ['POST'] }, authenticate: ['partners'], allow: [{ roles: ['writer'] }], maxBodySize: '1kb',
        upstream: { ...mq, destination: ORDERS, assertion: { audience: 'orders-consumer' }, cloudEvents: { type: 'com.example.order.submitted' },
          schema: { type: 'object', required: ['sku'], properties: { sku: { type: 'string' }, qty: { type: 'integer', minimum: 1 } } } } },
      { name: 'events', match: { path: '/events/:topic', methods: ['POST'] }, authenticate: ['partners'], allow: [{ roles: ['writer'] }],
        upstream: { ...mq, destination: { param: 'topic', allow: [INVOICES, UNBOUND] }, contentTypes: ['application/json', 'text/plain'] } },
      { name: 'down', match: { path: '/down', methods: ['POST'] }, authenticate: ['partners'], allow: [{ roles: ['writer'] }],
        upstream: { type: 'rabbitmq', url: 'amqp://guest:guest@127.0.0.1:1', destination: ORDERS, timeout: '2s' } },
    ],
  });
});

after(async () => {
  await gw?.stop();
  if (ch) for (const q of [ORDERS, INVOICES]) await ch.deleteQueue(q).catch(() => undefined);
  await broker?.close().catch(() => undefined);
});

const skip = (): boolean => broker === undefined;

async function post(path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(gw.url + path, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-api-key': keys.shop!, ...headers } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const take = (queue: string): Promise<GetMessage | false> => takeMessage(ch, queue);

test('an accepted request is one confirmed message with the verified identity, CloudEvents attributes and a verifiable assertion', async (t) => {
  if (skip()) return t.skip('no RabbitMQ');
  const res = await post('/orders', '{"sku":"A-1","qty":2}', {
    // A caller trying to speak for someone else through message properties:
    'ce-authid': 'admin', 'ce-authclaims': '{"roles":["admin"]}', 'ce-type': 'evil', 'x-gatehouse-assertion': 'forged', 'traceparent': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  assert.equal(res.json.destination, ORDERS);
  const m = await take(ORDERS);
  assert.ok(m, 'the message is in the queue once 202 was answered');
  assert.equal(m.content.toString(), '{"sku":"A-1","qty":2}');
  assert.equal(m.properties.contentType, 'application/json');
  assert.equal(m.properties.messageId, res.json.id);
  const h = m.properties.headers as Record<string, string>;
  assert.equal(h['ce-specversion'], '1.0');
  assert.equal(h['ce-id'], res.json.id);
  assert.equal(h['ce-type'], 'com.example.order.submitted');
  assert.equal(h['ce-source'], '/gatehouse/routes/orders');
  assert.equal(h['ce-authtype'], 'api_key');
  assert.equal(h['ce-authid'], 'shop', 'the verified subject, not the header the caller sent');
  const claims = JSON.parse(h['ce-authclaims']!) as Record<string, unknown>;
  assert.deepEqual(claims.roles, ['writer']);
  assert.equal(claims.provider, 'partners');
  assert.match(h['ce-traceparent']!, /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/, 'the trace continues into the message');
  assert.match(h['ce-gatehouserequestid']!, /^[0-9a-f]{32}$/);
  assert.notEqual(h['ce-gatehouseassertion'], 'forged');
  const { payload } = await jwtVerify(h['ce-gatehouseassertion']!, createRemoteJWKSet(new URL(`${gw.url}/.well-known/jwks.json`)), { audience: 'orders-consumer' });
  assert.equal(payload.sub, 'shop');
  const line = await gw.auditLine((l) => l.route === 'orders' && l.status === 202);
  const message = line?.message as Record<string, unknown> | undefined;
  assert.equal(message?.destination, ORDERS);
  assert.equal(message?.id, res.json.id);
  assert.equal(typeof message?.confirm_ms, 'number');
});

test('the same idempotency key from the same caller is the same message id; another caller\'s same key is not', async (t) => {
  if (skip()) return t.skip('no RabbitMQ');
  const a = await post('/events/' + INVOICES, '{"n":1}', { 'idempotency-key': 'inv-42' });
  const b = await post('/events/' + INVOICES, '{"n":1}', { 'idempotency-key': 'inv-42' });
  assert.equal(a.status, 202);
  assert.equal(a.json.id, b.json.id);
  const first = await take(INVOICES);
  const second = await take(INVOICES);
  assert.ok(first && second);
  assert.equal(first.properties.messageId, second.properties.messageId, 'a consumer de-duplicates the retry by message id');
  const other = await post('/events/' + INVOICES, '{"n":1}', { 'idempotency-key': 'inv-42', 'x-api-key': keys['other-shop']! });
  assert.equal(other.status, 202);
  assert.notEqual(other.json.id, a.json.id, 'another caller reusing the key cannot collide with (and so suppress) this caller\'s message');
  assert.ok(await take(INVOICES));
  const bad = await post('/events/' + INVOICES, '{}', { 'idempotency-key': 'has space' });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.code, 'idempotency_key_invalid');
});

test('destinations outside the allow-list are 404 and never created; an unroutable one is 503, not silence', async (t) => {
  if (skip()) return t.skip('no RabbitMQ');
  const unknown = await post('/events/not-allowed', '{}');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.code, 'destination_not_found');
  const probe = await broker.createChannel();
  probe.on('error', () => undefined);
  await assert.rejects(probe.checkQueue('not-allowed'), 'no queue was created');
  const unbound = await post('/events/' + UNBOUND, '{}');
  assert.equal(unbound.status, 503);
  assert.equal(unbound.json.code, 'broker_refused');
  const line = await gw.auditLine((l) => l.route === 'events' && l.error === 'broker_refused');
  assert.match(String(line?.error_detail), /unroutable/);
});

test('refused before publishing: wrong role 403, wrong content type 415, schema-invalid 422 with the errors, oversize 413', async (t) => {
  if (skip()) return t.skip('no RabbitMQ');
  const viewer = await post('/orders', '{"sku":"A"}', { 'x-api-key': keys.viewer! });
  assert.equal(viewer.status, 403);
  const text = await post('/orders', '{"sku":"A"}', { 'content-type': 'text/plain' });
  assert.equal(text.status, 415);
  assert.equal(text.json.code, 'content_type_not_allowed');
  const invalid = await post('/orders', '{"qty":0}');
  assert.equal(invalid.status, 422);
  assert.equal(invalid.json.code, 'body_invalid');
  const errors = invalid.json.errors as { pointer: string; message: string }[];
  assert.ok(errors.some((e) => /sku/.test(e.message)) && errors.some((e) => e.pointer === '/qty'), JSON.stringify(errors));
  const big = await post('/orders', JSON.stringify({ sku: 'x'.repeat(2000) }));
  assert.equal(big.status, 413);
  assert.equal(await take(ORDERS), false, 'none of them reached the queue');
});

test('a broker that cannot be reached is 503 broker_unavailable, logged in the audit line', async (t) => {
  if (skip()) return t.skip('no RabbitMQ');
  const res = await post('/down', '{}');
  assert.equal(res.status, 503);
  assert.equal(res.json.code, 'broker_unavailable');
  assert.equal(JSON.stringify(res.json).includes('127.0.0.1'), false, 'no internal address to the client');
  const again = await post('/down', '{}');
  assert.equal(again.status, 503, 'still refused while the broker is down');
});
