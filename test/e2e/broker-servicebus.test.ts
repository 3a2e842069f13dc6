import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { writeApiKeyFile } from '../harness/api-keys.js';
import { startServiceBusStandIn, type ServiceBusStandIn, type StoredMessage } from '../harness/servicebus-standin.js';

// Azure Service Bus is a cloud service: these tests drive the REAL @azure/service-bus SDK (through the
// gateway) against a local stand-in (test/harness/servicebus-standin.ts), an AMQP 1.0 endpoint that
// checks the SAS token of the claims-based-security handshake with the shared key and stores what
// it accepted. Nothing of the SDK is mocked.
const ORDERS = 'orders';
const INVOICES = 'invoices';
let sb: ServiceBusStandIn;
let gw: TestGateway;
const keys: Record<string, string> = {};


before(async () => {
  sb = await startServiceBusStandIn({ queues: [ORDERS], topics: [INVOICES] });
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-servicebus-'));
  const keysFile = join(dir, 'keys.yaml');
  Object.assign(keys, writeApiKeyFile(keysFile, [{ name: 'shop', roles: ['writer'], owner: 'team-a' }, { name: 'loner', roles: ['writer'] }]));
  process.env.GH_TEST_SB = sb.connectionString;
  process.env.GH_TEST_SB_WRONG = sb.connectionStringWith(randomBytes(32).toString('base64'));
  const bus = { type: 'servicebus', connectionString: '${env:GH_TEST_SB}', timeout: '3s' };
  const writers = { authenticate: ['partners'], allow: [{ roles: ['writer'] }] };
  gw = await startGateway({
    providers: { partners: { type: 'api-key', keys: keysFile } },
    routes: [
      { name: 'orders', match: { path: '/orders', methods: ['POST'] }, ...writers,
        upstream: { ...bus, destination: ORDERS, sessionId: '{subject}', partitionKey: '{subject}', assertion: { audience: 'orders-consumer' }, cloudEvents: { type: 'com.example.order.submitted' } } },
      { name: 'events', match: { path: '/events/:topic', methods: ['POST'] }, ...writers,
        upstream: { ...bus, destination: { param: 'topic', allow: [INVOICES, 'missing'] }, partitionKey: 'owner-{claim:owner}' } },
      { name: 'wrong-key', match: { path: '/wrong-key', methods: ['POST'] }, ...writers,
        upstream: { ...bus, connectionString: '${env:GH_TEST_SB_WRONG}', destination: ORDERS } },
    ],
  });
});

after(async () => {
  await gw?.stop();
  await sb?.stop();
});

async function post(path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(gw.url + path, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-api-key': keys.shop!, ...headers } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const last = (entity: string): StoredMessage | undefined => sb.messages(entity).at(-1);

test('an accepted request is one message Service Bus accepted, with the verified identity as CloudEvents application properties', async () => {
  const res = await post('/orders', '{"sku":"A-1","qty":2}', {
    // A caller trying to speak for someone else through message properties:
    'ce-authid': 'admin', 'cloudevents-authid': 'admin', 'ce-type': 'evil', 'x-gatehouse-assertion': 'forged',
    'traceparent': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  assert.equal(res.json.destination, ORDERS);
  assert.equal(res.json.duplicate, false);
  assert.equal(sb.messages(ORDERS).length, 1, 'stored once 202 was answered');
  const m = last(ORDERS)!;
  assert.equal(m.body.toString(), '{"sku":"A-1","qty":2}');
  assert.equal(m.contentType, 'application/json');
  assert.equal(m.messageId, res.json.id, 'the message id Service Bus de-duplicates on');
  assert.equal(m.sessionId, 'shop', 'the session is the verified caller');
  assert.equal(m.partitionKey, 'shop');
  assert.equal(m.subject, 'com.example.order.submitted');
  const p = m.applicationProperties;
  assert.equal(p['cloudEvents:specversion'], '1.0');
  assert.equal(p['cloudEvents:id'], res.json.id);
  assert.equal(p['cloudEvents:type'], 'com.example.order.submitted');
  assert.equal(p['cloudEvents:source'], '/gatehouse/routes/orders');
  assert.equal(p['cloudEvents:subject'], ORDERS);
  assert.ok(p['cloudEvents:time'] instanceof Date, 'time as a native AMQP timestamp');
  assert.equal(p['cloudEvents:authtype'], 'api_key');
  assert.equal(p['cloudEvents:authid'], 'shop', 'the verified subject, not the header the caller sent');
  assert.deepEqual((JSON.parse(String(p['cloudEvents:authclaims'])) as { roles: string[] }).roles, ['writer']);
  assert.match(String(p['cloudEvents:traceparent']), /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
  assert.equal(m.correlationId, p['cloudEvents:gatehouserequestid'], 'the correlation id is the request id of the audit line');
  assert.equal(Object.keys(p).some((k) => !k.startsWith('cloudEvents:')), false, 'no other property, none from a request header');
  assert.notEqual(p['cloudEvents:gatehouseassertion'], 'forged');
  const { payload } = await jwtVerify(String(p['cloudEvents:gatehouseassertion']), createRemoteJWKSet(new URL(`${gw.url}/.well-known/jwks.json`)), { audience: 'orders-consumer' });
  assert.equal(payload.sub, 'shop');
  const line = await gw.auditLine((l) => l.route === 'orders' && l.status === 202);
  const message = line?.message as Record<string, unknown> | undefined;
  assert.equal(message?.id, res.json.id);
  assert.equal(message?.broker_id, res.json.id);
});

test('a retry with the same idempotency key carries the same message id (for duplicate detection); a topic takes the partition key from a claim', async () => {
  const a = await post('/events/' + INVOICES, '{"n":1}', { 'idempotency-key': 'inv-42' });
  const b = await post('/events/' + INVOICES, '{"n":1}', { 'idempotency-key': 'inv-42' });
  assert.equal(a.status, 202, JSON.stringify(a.json));
  assert.equal(b.json.id, a.json.id);
  const [first, second] = sb.messages(INVOICES);
  assert.equal(first?.messageId, a.json.id);
  assert.equal(second?.messageId, a.json.id, 'the same message id, which duplicate detection on the entity drops (the stand-in keeps both)');
  assert.equal(first?.partitionKey, 'owner-team-a');
  assert.equal(first?.sessionId, undefined);
});

test('a caller without the claim a partition key names is refused (503 broker_refused) and nothing is sent', async () => {
  const before = sb.messages(INVOICES).length;
  const res = await post('/events/' + INVOICES, '{}', { 'x-api-key': keys.loner! });
  assert.equal(res.status, 503);
  assert.equal(res.json.code, 'broker_refused');
  assert.equal(sb.messages(INVOICES).length, before);
});

test('an entity the namespace does not have is 503 broker_refused (MessagingEntityNotFound in the audit line)', async () => {
  const res = await post('/events/missing', '{}');
  assert.equal(res.status, 503);
  assert.equal(res.json.code, 'broker_refused');
  const line = await gw.auditLine((l) => l.route === 'events' && l.error === 'broker_refused' && /MessagingEntityNotFound/.test(String(l.error_detail)));
  assert.ok(line, 'the audit line names the reason');
});

test('a body larger than the entity takes (256 KB on the Standard tier) is 422 message_unsendable, and nothing is stored', async () => {
  const before = sb.messages(ORDERS).length;
  const res = await post('/orders', JSON.stringify({ sku: 'x'.repeat(300 * 1024) }));
  assert.equal(res.status, 422, JSON.stringify(res.json));
  assert.equal(res.json.code, 'message_unsendable');
  assert.equal(sb.messages(ORDERS).length, before);
  const ok = await post('/orders', JSON.stringify({ sku: 'x'.repeat(200 * 1024) }));
  assert.equal(ok.status, 202, 'one that fits goes through');
});

test('a wrong SAS key is refused by the namespace: 503 broker_refused, nothing stored, no key echoed', async () => {
  const before = sb.messages(ORDERS).length;
  const refused = sb.refusedTokens;
  const res = await post('/wrong-key', '{"sku":"B"}');
  assert.equal(res.status, 503);
  assert.equal(res.json.code, 'broker_refused');
  assert.ok(sb.refusedTokens > refused, 'the stand-in checked the signature and refused it');
  assert.equal(sb.messages(ORDERS).length, before, 'nothing stored');
  const line = await gw.auditLine((l) => l.route === 'wrong-key' && l.error === 'broker_refused');
  assert.match(String(line?.error_detail), /UnauthorizedAccess/);
  const wrongKey = /SharedAccessKey=([^;]+)/.exec(process.env.GH_TEST_SB_WRONG!)![1]!;
  assert.equal(JSON.stringify(line).includes(wrongKey) || JSON.stringify(res.json).includes(wrongKey), false);
});

test('a namespace that went away is 503 broker_unavailable; once it is back the next publish goes through', async () => {
  await sb.stop();
  const down = await post('/orders', '{"sku":"C"}');
  assert.equal(down.status, 503, JSON.stringify(down.json));
  assert.equal(down.json.code, 'broker_unavailable');
  assert.equal(JSON.stringify(down.json).includes('127.0.0.1'), false, 'no internal address to the client');
  await sb.restart();
  const count = sb.messages(ORDERS).length;
  let res = await post('/orders', '{"sku":"D"}');
  for (let i = 0; i < 20 && res.status !== 202; i++) {
    await new Promise((r) => setTimeout(r, 250));
    res = await post('/orders', '{"sku":"D"}');
  }
  assert.equal(res.status, 202, JSON.stringify(res.json));
  assert.equal(sb.messages(ORDERS).length, count + 1);
  assert.equal(last(ORDERS)?.body.toString(), '{"sku":"D"}');
});
