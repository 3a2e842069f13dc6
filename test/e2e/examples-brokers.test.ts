import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { EXAMPLES_DIR, startExample } from '../harness/examples.js';
import { takeMessage } from '../harness/rabbitmq.js';
import type { TestGateway } from '../harness/gateway.js';
import { randomUUID } from 'node:crypto';
import { entra, okta, startSigningKeys, type SigningKeys } from '../harness/provider-tokens.js';
import { startServiceBusStandIn, type ServiceBusStandIn } from '../harness/servicebus-standin.js';

// The broker examples as docs/brokers.md shows them, run by a real gateway: examples/http-to-rabbitmq.yaml
// against the machine's RabbitMQ (AMQP_URL), with Okta-shaped tokens signed by keys made here, and
// examples/http-to-servicebus.yaml with Entra-shaped tokens. Service Bus is a cloud service: that
// example's gateway drives the real @azure/service-bus SDK against the local AMQP 1.0 stand-in
// (test/harness/servicebus-standin.ts, claims-based security with the SAS key checked).

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

let keys: SigningKeys;
before(async () => { keys = await startSigningKeys(); });
after(() => keys.close());

describe('examples/http-to-rabbitmq.yaml', () => {
  const ISS = 'https://dev-123456.okta.com/oauth2/default';
  const SHIPPED = 'gh-example-shipped';
  let broker: ChannelModel | undefined;
  let ch: Channel;
  let gw: TestGateway;

  const token = (scp: string[], uid = '00u1a2b3c4d5e6f7g8h9'): Promise<string> =>
    keys.sign(okta.user({ iss: ISS, aud: 'api://orders', cid: '0oaShopClient123456', uid, login: 'alice@example.com', scp }));

  async function post(path: string, body: string, headers: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(gw.url + path, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  const take = (queue: string): Promise<GetMessage | false> => takeMessage(ch, queue);

  before(async () => {
    try {
      broker = await connect(AMQP_URL);
    } catch (err) {
      if (process.env.CI === 'true') throw new Error(`RabbitMQ is not reachable at ${AMQP_URL}: ${(err as Error).message}`);
      console.error(`\n!!! SKIPPING examples/http-to-rabbitmq.yaml: no RabbitMQ at ${AMQP_URL}\n`);
      return;
    }
    ch = await broker.createChannel();
    // What the example expects the broker to have: a durable `orders` queue and a topic exchange `events`.
    await ch.assertQueue('orders', { durable: true });
    await ch.purgeQueue('orders');
    await ch.assertExchange('events', 'topic', { durable: true });
    await ch.assertQueue(SHIPPED, { durable: false, autoDelete: false });
    await ch.purgeQueue(SHIPPED);
    await ch.bindQueue(SHIPPED, 'events', 'order.shipped');
    gw = await startExample('http-to-rabbitmq.yaml', {
      jwksUri: keys.jwksUri,
      env: { AMQP_URL },
      files: { '/etc/gatehouse/schemas/order.json': readFileSync(join(EXAMPLES_DIR, 'schemas/order.json'), 'utf8') },
    });
  });
  after(async () => {
    await gw?.stop();
    if (broker !== undefined) {
      await ch.deleteQueue(SHIPPED).catch(() => undefined);
      await ch.deleteQueue('orders').catch(() => undefined);
      await ch.deleteExchange('events').catch(() => undefined);
      await broker.close().catch(() => undefined);
    }
  });

  it('an order from a caller with orders.write is one confirmed message carrying the verified caller; its retry keeps the id', async (t) => {
    if (broker === undefined) return t.skip('no RabbitMQ');
    const auth = { authorization: `Bearer ${await token(['orders.write'])}`, 'idempotency-key': 'order-1001' };
    const order = '{"orderId":"1001","lines":[{"sku":"A-1","qty":2}]}';
    const first = await post('/orders', order, { ...auth, 'ce-authid': 'someone-else' });
    assert.equal(first.status, 202, JSON.stringify(first.json));
    const m = await take('orders');
    assert.ok(m, 'the order is in the queue');
    assert.equal(m.content.toString(), order);
    assert.equal(m.properties.deliveryMode, 2, 'persistent');
    const h = m.properties.headers as Record<string, string>;
    assert.equal(h['ce-type'], 'com.example.order.submitted');
    assert.equal(h['ce-authid'], '00u1a2b3c4d5e6f7g8h9', 'the Okta uid the token proved, not the header the caller sent');
    const { payload } = await jwtVerify(h['ce-gatehouseassertion']!, createRemoteJWKSet(new URL(`${gw.url}/.well-known/jwks.json`)), { audience: 'orders-consumer' });
    assert.equal(payload.sub, '00u1a2b3c4d5e6f7g8h9');
    const retry = await post('/orders', order, auth);
    assert.deepEqual([retry.status, retry.json.id], [202, first.json.id], 'a retry after a lost answer is the same message id');
  });

  it('refuses before anything is published: no idempotency key 400, an order the schema rejects 422, a caller without the scope 403', async (t) => {
    if (broker === undefined) return t.skip('no RabbitMQ');
    await ch.purgeQueue('orders');
    const writer = `Bearer ${await token(['orders.write'])}`;
    const noKey = await post('/orders', '{"orderId":"1","lines":[{"sku":"A","qty":1}]}', { authorization: writer });
    assert.deepEqual([noKey.status, noKey.json.code], [400, 'idempotency_key_missing']);
    const invalid = await post('/orders', '{"orderId":"1","lines":[{"sku":"A","qty":0}]}', { authorization: writer, 'idempotency-key': 'k-2' });
    assert.deepEqual([invalid.status, invalid.json.code], [422, 'body_invalid']);
    assert.ok(JSON.stringify(invalid.json.errors).includes('/lines/0/qty'), JSON.stringify(invalid.json));
    const reader = await post('/orders', '{"orderId":"1","lines":[{"sku":"A","qty":1}]}', { authorization: `Bearer ${await token(['orders.read'])}`, 'idempotency-key': 'k-3' });
    assert.equal(reader.status, 403);
    assert.equal(await take('orders'), false, 'nothing reached the queue');
  });

  it('an event goes to the topic exchange with the topic as routing key; a topic outside the allow-list is 404', async (t) => {
    if (broker === undefined) return t.skip('no RabbitMQ');
    const auth = { authorization: `Bearer ${await token(['events.publish'])}` };
    const shipped = await post('/events/order.shipped', '{"orderId":"1001"}', auth);
    assert.equal(shipped.status, 202, JSON.stringify(shipped.json));
    const m = await take(SHIPPED);
    assert.ok(m);
    assert.equal(m.fields.exchange, 'events');
    assert.equal(m.fields.routingKey, 'order.shipped');
    const unknown = await post('/events/order.deleted', '{}', auth);
    assert.deepEqual([unknown.status, unknown.json.code], [404, 'destination_not_found']);
    const noScope = await post('/events/order.shipped', '{}', { authorization: `Bearer ${await token(['orders.write'])}` });
    assert.equal(noScope.status, 403);
  });
});

describe('examples/http-to-servicebus.yaml', () => {
  const TENANT_ID = randomUUID();
  const API_CLIENT_ID = randomUUID();
  const PIPELINE = randomUUID();
  let sb: ServiceBusStandIn;
  let gw: TestGateway;

  const token = (roles: string[], oid = PIPELINE): Promise<string> =>
    keys.sign(entra.v2App({ tid: TENANT_ID, aud: API_CLIENT_ID, azp: oid, oid, roles }));
  async function post(path: string, body: string, headers: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(gw.url + path, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  before(async () => {
    sb = await startServiceBusStandIn({ queues: ['orders'], topics: ['order-shipped', 'invoice-paid'] });
    gw = await startExample('http-to-servicebus.yaml', { jwksUri: keys.jwksUri, env: { TENANT_ID, API_CLIENT_ID, SERVICEBUS_CONNECTION_STRING: sb.connectionString } });
  });
  after(async () => { await gw?.stop(); await sb?.stop(); });

  it('a pipeline with Orders.Write puts one accepted order on the queue, carrying its verified identity; a retry keeps the message id', async () => {
    const auth = { authorization: `Bearer ${await token(['Orders.Write'])}`, 'idempotency-key': 'activity-run-7' };
    const order = '{"orderId":"2001"}';
    const first = await post('/orders', order, { ...auth, 'ce-authid': 'someone-else' });
    assert.equal(first.status, 202, JSON.stringify(first.json));
    const [m] = sb.messages('orders');
    assert.ok(m, 'stored once 202 was answered');
    assert.equal(m.body.toString(), order);
    assert.equal(m.messageId, first.json.id, 'the message id Service Bus de-duplicates on');
    assert.equal(m.applicationProperties['cloudEvents:authid'], PIPELINE, 'the managed identity the token proved');
    assert.equal(m.applicationProperties['cloudEvents:type'], 'com.example.order.submitted');
    const { payload } = await jwtVerify(String(m.applicationProperties['cloudEvents:gatehouseassertion']), createRemoteJWKSet(new URL(`${gw.url}/.well-known/jwks.json`)), { audience: 'orders-consumer' });
    assert.equal(payload.sub, PIPELINE);
    const retry = await post('/orders', order, auth);
    assert.deepEqual([retry.status, retry.json.id], [202, first.json.id]);
  });

  it('refuses without the app role (403) or the idempotency key (400), and sends nothing', async () => {
    const before = sb.messages('orders').length;
    const noRole = await post('/orders', '{}', { authorization: `Bearer ${await token(['Events.Publish'])}`, 'idempotency-key': 'k' });
    assert.equal(noRole.status, 403);
    const noKey = await post('/orders', '{}', { authorization: `Bearer ${await token(['Orders.Write'])}` });
    assert.deepEqual([noKey.status, noKey.json.code], [400, 'idempotency_key_missing']);
    assert.equal(sb.messages('orders').length, before);
  });

  it('an event goes to the topic the path names, partitioned by the pipeline; a topic outside the list is 404', async () => {
    const auth = { authorization: `Bearer ${await token(['Events.Publish'])}` };
    const shipped = await post('/events/order-shipped', '{"orderId":"2001"}', auth);
    assert.equal(shipped.status, 202, JSON.stringify(shipped.json));
    const [m] = sb.messages('order-shipped');
    assert.ok(m);
    assert.equal(m.partitionKey, PIPELINE, 'the client id of the caller');
    const unknown = await post('/events/order-deleted', '{}', auth);
    assert.deepEqual([unknown.status, unknown.json.code], [404, 'destination_not_found']);
  });
});
