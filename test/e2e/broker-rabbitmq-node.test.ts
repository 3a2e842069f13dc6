import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type GetMessage } from 'amqplib';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { type TestRabbitMq, startOwnRabbitMq } from '../harness/rabbitmq.js';
import { writeApiKeyFile } from '../harness/api-keys.js';
import { brokerConnection } from '../../src/upstream/broker/broker.js';

// What a RabbitMQ node of the test's own lets a test do to the broker without touching the
// machine's: close a channel from the broker's side, dead-letter a rejected message, raise a
// memory alarm. (The crash test is broker-rabbitmq-noloss.test.ts.)
const QUEUE = `gh-ingest-${process.pid}`;
const MISSING_EXCHANGE = `gh-missing-${process.pid}`;
const ORDERS = `gh-orders-${process.pid}`;
const DLX = `${ORDERS}.dlx`;
const DEAD = `${ORDERS}.dead`;

let mq: TestRabbitMq | undefined;
let gw: TestGateway;
let apiKey: string;

before(async () => {
  mq = await startOwnRabbitMq('the RabbitMQ node tests');
  if (mq === undefined) return;
  const admin = await connect(mq.url);
  const ch = await admin.createChannel();
  await ch.assertQueue(QUEUE, { durable: true });
  // The dead-letter setup of docs/brokers.md, as written there.
  await ch.assertExchange(DLX, 'direct', { durable: true });
  await ch.assertQueue(DEAD, { durable: true });
  await ch.bindQueue(DEAD, DLX, DEAD);
  await ch.assertQueue(ORDERS, { durable: true, deadLetterExchange: DLX, deadLetterRoutingKey: DEAD });
  await admin.close();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-node-keys-'));
  const keysFile = join(dir, 'keys.yaml');
  apiKey = writeApiKeyFile(keysFile, [{ name: 'loader', roles: ['writer'] }]).loader!;
  process.env.GH_TEST_NODE_AMQP_URL = mq.url;
  const mqUpstream = { type: 'rabbitmq', url: '${env:GH_TEST_NODE_AMQP_URL}', timeout: '3s' };
  const route = (name: string, upstream: Record<string, unknown>): Record<string, unknown> => (
    { name, match: { path: `/${name}`, methods: ['POST'] }, authenticate: ['partners'], allow: [{ roles: ['writer'] }], upstream: { ...mqUpstream, ...upstream } });
  gw = await startGateway({
    log: { level: 'error' },
    providers: { partners: { type: 'api-key', keys: keysFile } },
    routes: [
      route('ingest', { destination: QUEUE }),
      // An exchange nobody declared: the broker closes the channel of every publish to it.
      route('misconfigured', { exchange: MISSING_EXCHANGE, destination: QUEUE }),
      route('orders', { destination: ORDERS }),
    ],
  });
});

after(async () => {
  await gw?.stop();
  await mq?.stop();
});

async function post(key: string, path = '/ingest'): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(gw.url + path, {
    method: 'POST', body: JSON.stringify({ key }),
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey, 'idempotency-key': key },
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test('a channel the broker closes (unknown exchange) is broker_refused, and the connection is reused, not leaked', async (t) => {
  if (mq === undefined) return t.skip('no rabbitmq-server');
  const states: string[] = [];
  const onState = (m: unknown): void => { states.push((m as { state: string }).state); };
  subscribe(brokerConnection.name, onState);
  try {
    for (let i = 0; i < 3; i++) {
      const res = await post(`missing-${i}`, '/misconfigured');
      assert.equal(res.status, 503);
      assert.equal(res.json.code, 'broker_refused', 'the broker refused the exchange: not a broker outage');
    }
    const line = await gw.auditLine((l) => l.route === 'misconfigured' && l.error === 'broker_refused');
    assert.match(String(line?.error_detail), /NOT_FOUND|not found/i, 'the audit line says why');
    assert.deepEqual(states, ['up'], 'one connection for the route: a closed channel is reopened on it, not on a new connection each time');
    const ok = await post('still-fine');
    assert.equal(ok.status, 202, 'the other route is unaffected');
  } finally {
    unsubscribe(brokerConnection.name, onState);
  }
});

test('a message its consumer rejects without requeue goes to the dead-letter queue with its identity headers and request id', async (t) => {
  if (mq === undefined) return t.skip('no rabbitmq-server');
  const res = await post('order-1', '/orders');
  assert.equal(res.status, 202, JSON.stringify(res.json));
  const model = await connect(mq.url);
  try {
    const ch = await model.createChannel();
    // The consumer's policy check refuses it: basic.reject with requeue=false.
    const rejected = new Promise<void>((resolve) => {
      void ch.consume(ORDERS, (msg) => { if (msg !== null) { ch.reject(msg, false); resolve(); } });
    });
    await rejected;
    let dead: GetMessage | false = false;
    for (let i = 0; i < 40 && dead === false; i++) {
      dead = await ch.get(DEAD, { noAck: true });
      if (dead === false) await sleep(25);
    }
    assert.ok(dead, 'the rejected message is in the dead-letter queue');
    assert.equal(dead.properties.messageId, res.json.id);
    assert.equal(dead.content.toString(), JSON.stringify({ key: 'order-1' }));
    const h = dead.properties.headers as Record<string, unknown>;
    assert.equal(h['ce-authid'], 'loader');
    assert.equal(h['x-first-death-reason'], 'rejected');
    const death = (h['x-death'] as { reason: string; queue: string }[])[0]!;
    assert.deepEqual([death.reason, death.queue], ['rejected', ORDERS]);
    const line = await gw.auditLine((l) => l.route === 'orders' && l.status === 202);
    assert.equal(line?.request_id, h['ce-gatehouserequestid'], 'the audit line of the original request is found by ce-gatehouserequestid');
    assert.equal((await ch.checkQueue(ORDERS)).messageCount, 0, 'not requeued');
  } finally {
    await model.close();
  }
});

test('while the broker blocks publishers (a memory alarm), publishes fail at once with 503 instead of waiting for the timeout', async (t) => {
  if (mq === undefined) return t.skip('no rabbitmq-server');
  await mq.ctl('set_vm_memory_high_watermark', '0');
  try {
    // The broker says it blocks the connection once it publishes: this first one is held (it may
    // answer 504 and be stored when the alarm clears, which is why clients retry with the same key).
    const first = await post('alarm-0');
    assert.ok([202, 503, 504].includes(first.status), JSON.stringify(first.json));
    for (const key of ['alarm-1', 'alarm-2']) {
      const res = await post(key);
      assert.equal(res.status, 503, JSON.stringify(res.json));
      assert.equal(res.json.code, 'broker_unavailable', 'refused at once, not sent: it cannot be stored behind a 504');
    }
    const line = await gw.auditLine((l) => l.route === 'ingest' && l.error === 'broker_unavailable' && /blocks publishers/.test(String(l.error_detail)));
    assert.ok(line, 'the audit line says the broker blocks publishers');
  } finally {
    await mq.ctl('set_vm_memory_high_watermark', '0.4');
  }
  let after = await post('alarm-cleared');
  for (let i = 0; i < 20 && after.status !== 202; i++) {
    await sleep(100); // the unblock notice can trail the command
    after = await post('alarm-cleared');
  }
  assert.equal(after.status, 202, `publishing resumes when the alarm clears: ${JSON.stringify(after.json)}`);
});
