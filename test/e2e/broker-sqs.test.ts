import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { writeApiKeyFile } from '../harness/api-keys.js';
import { startSqsStandIn, type SqsStandIn } from '../harness/sqs-standin.js';
import { startStsStandIn } from '../harness/aws-standin.js';
import { startSigningKeys } from '../harness/provider-tokens.js';
import { startOidcProvider } from '../harness/oidc-provider.js';

// SQS is a cloud service: these tests run the gateway's real AWS SDK client against a local
// SQS stand-in (test/harness/sqs-standin.ts) that speaks the SDK's AWS JSON 1.0 protocol, verifies
// every SigV4 signature against the keys made here, and de-duplicates FIFO messages as SQS does.
const REGION = 'eu-west-1';
const ACCESS_KEY = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
let sqs: SqsStandIn;
let gw: TestGateway;
const keys: Record<string, string> = {};


before(async () => {
  sqs = await startSqsStandIn(REGION);
  const secret = randomBytes(30).toString('base64');
  await sqs.addKey(ACCESS_KEY, { secret, principal: 'gatehouse-writer' });
  for (const q of ['orders', 'orders.fifo', 'blobs']) sqs.createQueue(q);
  sqs.createQueue('small', { maximumMessageSize: 1024 });
  process.env.GH_TEST_SQS_SECRET = secret;
  // The same access key id with another secret: SQS computes another signature and refuses.
  process.env.GH_TEST_SQS_WRONG_SECRET = randomBytes(30).toString('base64');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sqs-'));
  const keysFile = join(dir, 'keys.yaml');
  Object.assign(keys, writeApiKeyFile(keysFile, [{ name: 'shop', roles: ['writer'] }, { name: 'other-shop', roles: ['writer'] }]));
  const upstream = (extra: Record<string, unknown>, secretRef = '${env:GH_TEST_SQS_SECRET}'): Record<string, unknown> => ({
    type: 'sqs', region: REGION, endpoint: sqs.url, timeout: '3s',
    credentials: { static: { accessKeyId: ACCESS_KEY, secretAccessKey: secretRef } }, ...extra,
  });
  const route = (name: string, path: string, up: Record<string, unknown>, more: Record<string, unknown> = {}): Record<string, unknown> => ({
    name, match: { path, methods: ['POST'] }, authenticate: ['partners'], allow: [{ roles: ['writer'] }], upstream: up, ...more,
  });
  gw = await startGateway({
    providers: { partners: { type: 'api-key', keys: keysFile } },
    routes: [
      route('orders', '/orders', upstream({ destination: 'orders', assertion: { audience: 'orders-consumer' }, cloudEvents: { type: 'com.example.order.submitted' } })),
      route('fifo', '/fifo', upstream({ destination: 'orders.fifo' })),
      route('queues', '/queues/:queue', upstream({ destination: { param: 'queue', allow: ['orders', 'missing'] }, contentTypes: ['application/json', 'text/plain'] })),
      route('small', '/small', upstream({ destination: 'small' }), { maxBodySize: '8kb' }),
      route('blobs', '/blobs', upstream({ destination: 'blobs', contentTypes: ['application/octet-stream'], bodyEncoding: 'base64' })),
      route('wrong-key', '/wrong-key', upstream({ destination: 'orders' }, '${env:GH_TEST_SQS_WRONG_SECRET}')),
      route('hurried', '/hurried', upstream({ destination: 'orders', timeout: '400ms' })),
    ],
  });
});

after(async () => {
  await gw?.stop();
  await sqs?.close();
});

async function post(path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(gw.url + path, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-api-key': keys.shop!, ...headers } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const sends = (): number => sqs.calls.filter((c) => c.target === 'AmazonSQS.SendMessage').length;

test('an accepted request is one stored message: the body, at most 10 attributes with the verified identity, a verifiable assertion', async () => {
  const res = await post('/orders', '{"sku":"A-1","qty":2}', {
    // A caller trying to speak for someone else through message attributes:
    'ce-authid': 'admin', 'ce-authclaims': '{"roles":["admin"]}', 'ce-type': 'evil', 'x-gatehouse-assertion': 'forged',
    'traceparent': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  assert.equal(res.json.duplicate, false);
  const stored = sqs.messages('orders');
  assert.equal(stored.length, 1, 'the message is in the queue once 202 was answered');
  const m = stored[0]!;
  assert.equal(m.body, '{"sku":"A-1","qty":2}');
  assert.equal(m.signedBy, 'gatehouse-writer', 'the stand-in verified the SDK\'s SigV4 signature');
  const a = Object.fromEntries(Object.entries(m.attributes).map(([k, v]) => [k, v.StringValue]));
  assert.deepEqual(Object.keys(a).sort(), ['content-type', 'ce-authclaims', 'ce-authid', 'ce-authtype', 'ce-gatehouseassertion', 'ce-gatehouserequestid', 'ce-id', 'ce-source', 'ce-traceparent', 'ce-type'].sort(),
    'SQS takes 10 attributes: subject, time and specversion are the ones left out');
  assert.ok(Object.values(m.attributes).every((v) => v.DataType === 'String'));
  assert.equal(a['content-type'], 'application/json');
  assert.equal(a['ce-id'], res.json.id);
  assert.equal(a['ce-type'], 'com.example.order.submitted');
  assert.equal(a['ce-source'], '/gatehouse/routes/orders');
  assert.equal(a['ce-authtype'], 'api_key');
  assert.equal(a['ce-authid'], 'shop', 'the verified subject, not the header the caller sent');
  assert.deepEqual((JSON.parse(a['ce-authclaims']!) as { roles: string[] }).roles, ['writer']);
  assert.match(a['ce-traceparent']!, /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
  assert.notEqual(a['ce-gatehouseassertion'], 'forged');
  const { payload } = await jwtVerify(a['ce-gatehouseassertion']!, createRemoteJWKSet(new URL(`${gw.url}/.well-known/jwks.json`)), { audience: 'orders-consumer' });
  assert.equal(payload.sub, 'shop');
  const line = await gw.auditLine((l) => l.route === 'orders' && l.status === 202);
  const message = line?.message as Record<string, unknown> | undefined;
  assert.equal(message?.broker_id, m.messageId, 'the audit line names the message SQS stored');
});

test('a queue name is resolved once by GetQueueUrl and then cached', async () => {
  const before = sqs.calls.filter((c) => c.target === 'AmazonSQS.GetQueueUrl').length;
  for (let i = 0; i < 3; i++) assert.equal((await post('/queues/orders', `{"n":${i}}`)).status, 202);
  const after = sqs.calls.filter((c) => c.target === 'AmazonSQS.GetQueueUrl').length;
  assert.ok(after - before <= 1, `GetQueueUrl called ${after - before} times for three messages`);
});

test('FIFO: the group id is the caller, the same idempotency key twice is one stored message, another caller\'s same key is its own', async () => {
  const a = await post('/fifo', '{"n":1}', { 'idempotency-key': 'order-7' });
  const b = await post('/fifo', '{"n":1}', { 'idempotency-key': 'order-7' });
  assert.equal(a.status, 202, JSON.stringify(a.json));
  assert.equal(b.status, 202);
  assert.equal(b.json.id, a.json.id);
  assert.equal(a.json.duplicate, false);
  assert.equal(b.json.duplicate, true, 'SQS answered the retry with the first message');
  let stored = sqs.messages('orders.fifo');
  assert.equal(stored.length, 1, 'SQS de-duplicated the retry by MessageDeduplicationId');
  assert.equal(stored[0]!.groupId, 'shop');
  assert.equal(stored[0]!.dedupId, a.json.id);
  const other = await post('/fifo', '{"n":1}', { 'idempotency-key': 'order-7', 'x-api-key': keys['other-shop']! });
  assert.equal(other.status, 202);
  assert.notEqual(other.json.id, a.json.id, 'another caller reusing the key cannot suppress this caller\'s message');
  stored = sqs.messages('orders.fifo');
  assert.equal(stored.length, 2);
  assert.equal(stored[1]!.groupId, 'other-shop');
  const line = await gw.auditLine((l) => l.route === 'fifo' && (l.message as { duplicate?: boolean } | undefined)?.duplicate === true);
  assert.match(String((line?.message as Record<string, unknown>).broker_id), /#\d+$/, 'FIFO: the sequence number is in the broker id');
});

test('an unknown queue is 503 broker_refused and is never created', async () => {
  const res = await post('/queues/missing', '{}');
  assert.equal(res.status, 503);
  assert.equal(res.json.code, 'broker_refused');
  assert.equal(sqs.messages('missing').length, 0);
  assert.equal(sqs.calls.some((c) => c.target !== 'AmazonSQS.GetQueueUrl' && c.target !== 'AmazonSQS.SendMessage'), false, 'no CreateQueue');
  const line = await gw.auditLine((l) => l.route === 'queues' && l.error === 'broker_refused');
  assert.match(String(line?.error_detail), /QueueDoesNotExist/);
});

test('a wrong secret key is refused by SQS (signature mismatch): 503 broker_refused, nothing stored, no secret in the audit', async () => {
  const count = sqs.messages('orders').length;
  const res = await post('/wrong-key', '{"sku":"X"}');
  assert.equal(res.status, 503);
  assert.equal(res.json.code, 'broker_refused');
  assert.equal(sqs.messages('orders').length, count);
  assert.ok(sqs.calls.some((c) => c.status === 403 && c.error === 'SignatureDoesNotMatch'));
  const line = await gw.auditLine((l) => l.route === 'wrong-key' && l.error === 'broker_refused');
  assert.match(String(line?.error_detail), /SignatureDoesNotMatch/);
  assert.equal(JSON.stringify(line).includes(process.env.GH_TEST_SQS_WRONG_SECRET!), false);
});

test('bodies: a message larger than the queue takes is 503 broker_refused; a body that is not UTF-8 is 422 message_unsendable before sending; base64 routes carry binary', async () => {
  const big = await post('/small', JSON.stringify({ pad: 'x'.repeat(2000) }));
  assert.equal(big.status, 503);
  assert.equal(big.json.code, 'broker_refused');
  assert.equal(sqs.messages('small').length, 0);
  const before = sends();
  const binary = await post('/queues/orders', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { 'content-type': 'text/plain' });
  assert.equal(binary.status, 422, 'the client\'s message, not the broker, is at fault: a retry as is cannot succeed');
  assert.equal(binary.json.code, 'message_unsendable');
  assert.equal(sends(), before, 'never sent to SQS');
  const line = await gw.auditLine((l) => l.route === 'queues' && /UTF-8/.test(String(l.error_detail)));
  assert.ok(line, 'the audit line says why');
  const bytes = Buffer.from([0, 1, 2, 0xff, 0x80, 10]);
  const blob = await post('/blobs', bytes, { 'content-type': 'application/octet-stream' });
  assert.equal(blob.status, 202, JSON.stringify(blob.json));
  const stored = sqs.messages('blobs');
  assert.equal(stored.length, 1);
  assert.deepEqual(Buffer.from(stored[0]!.body, 'base64'), bytes);
  assert.equal(stored[0]!.attributes['content-type']?.StringValue, 'application/octet-stream');
});

test('throttling and 5xx are 503 broker_unavailable (the SDK retried once); no answer within the timeout is 504 broker_timeout', async () => {
  try {
    const count = sqs.messages('orders').length;
    for (const error of ['throttled', 'internal'] as const) {
      sqs.fault = { error };
      const calls = sends();
      const res = await post('/orders', '{"sku":"T"}');
      assert.equal(res.status, 503, error);
      assert.equal(res.json.code, 'broker_unavailable', error);
      assert.equal(sends() - calls, 2, `${error}: one retry, not more`);
    }
    sqs.fault = { delayMs: 1500 };
    const started = performance.now();
    const slow = await post('/hurried', '{"sku":"S"}');
    assert.equal(slow.status, 504);
    assert.equal(slow.json.code, 'broker_timeout');
    assert.ok(performance.now() - started < 1200, 'answered at the route\'s timeout, not when SQS answered');
    assert.equal(sqs.messages('orders').length, count, 'not yet stored when the gateway gave up');
    // SQS had the request and stores it late: a 504 means "maybe", which is why the client retries with the same key.
    while (performance.now() - started < 1700) await new Promise((r) => setTimeout(r, 50));
    assert.equal(sqs.messages('orders').length, count + 1);
  } finally {
    sqs.fault = undefined;
  }
});

test('web identity (an EKS IRSA token file, or the gateway\'s OAuth2 token): the role is assumed once through STS and SQS verifies the temporary keys', async () => {
  const role = 'arn:aws:iam::123456789012:role/gatehouse-sqs-writer';
  const federated = 'arn:aws:iam::123456789012:role/gatehouse-sqs-federated';
  const issuer = 'https://oidc.eks.eu-west-1.amazonaws.com/id/5C1A2B3D4E5F60718293A4B5C6D7E8F9';
  const k8s = await startSigningKeys();
  const op = await startOidcProvider({ resourceServers: { 'api://aws-federation': { scope: 'sts' } } });
  const sts = await startStsStandIn({
    roles: {
      [role]: { issuer, audience: 'sts.amazonaws.com', jwks: k8s.jwksUri },
      [federated]: { issuer: op.issuer, audience: 'api://aws-federation', jwks: `${op.issuer}/jwks` },
    },
    // Keys STS issues are the only ones SQS then knows besides the static one.
    onIssue: (k) => sqs.addKey(k.accessKeyId, { secret: k.secretAccessKey, principal: k.arn, sessionToken: k.sessionToken, expiresAt: k.expiration.toISOString() }),
  });
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sqs-irsa-'));
  const tokenFile = join(dir, 'token');
  const t = Math.floor(Date.now() / 1000);
  writeFileSync(tokenFile, await k8s.sign({ iss: issuer, sub: 'system:serviceaccount:gateway:gatehouse', aud: ['sts.amazonaws.com'], iat: t, exp: t + 3600 }));
  writeFileSync(join(dir, 'client-secret'), op.clientSecret);
  const oauth2 = { tokenUrl: `${op.issuer}/token`, clientId: op.clientId, clientSecret: `\${file:${join(dir, 'client-secret')}}`, clientAuth: 'client_secret_post', resource: 'api://aws-federation' };
  const sqsRoute = (name: string, webIdentity: Record<string, unknown>): Record<string, unknown> => ({ name, match: { path: `/${name}`, methods: ['POST'] }, public: true, upstream: {
    type: 'sqs', region: REGION, endpoint: sqs.url, destination: 'orders', credentials: { webIdentity: { stsEndpoint: sts.url, ...webIdentity } },
  } });
  const irsa = await startGateway({
    routes: [sqsRoute('irsa', { roleArn: role, tokenFile, sessionName: 'gatehouse-sqs' }), sqsRoute('federated', { roleArn: federated, token: { oauth2 } })],
  });
  try {
    const count = sqs.messages('orders').length;
    for (const n of [1, 2]) {
      const res = await fetch(`${irsa.url}/irsa`, { method: 'POST', body: `{"n":${n}}`, headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 202, await res.text());
    }
    const stored = sqs.messages('orders').slice(count);
    assert.equal(stored.length, 2);
    assert.equal(stored[0]!.signedBy, 'arn:aws:sts::123456789012:assumed-role/gatehouse-sqs-writer/gatehouse-sqs', 'signed with the role\'s temporary keys');
    assert.equal(stored[0]!.attributes['ce-authtype']?.StringValue, 'unauthenticated');
    assert.deepEqual(Object.keys(stored[0]!.attributes).sort(), ['content-type', 'ce-authtype', 'ce-gatehouserequestid', 'ce-id', 'ce-source', 'ce-specversion', 'ce-subject', 'ce-time', 'ce-traceparent', 'ce-type'].sort(),
      'without identity attributes every attribute fits in ten');
    assert.equal(sts.calls.filter((c) => c.action === 'AssumeRoleWithWebIdentity' && c.status === 200).length, 1, 'the keys are cached between messages');
    const res = await fetch(`${irsa.url}/federated`, { method: 'POST', body: '{"n":3}', headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 202, await res.text());
    assert.equal(sqs.messages('orders').at(-1)!.signedBy, 'arn:aws:sts::123456789012:assumed-role/gatehouse-sqs-federated/gatehouse', 'the gateway\'s OAuth2 token was the web identity');
    assert.equal(sts.calls.at(-1)!.sub, op.clientId);
  } finally {
    await irsa.stop();
    await sts.close();
    await k8s.close();
    await op.stop();
  }
});

test('SQS down is 503 broker_unavailable (at once while it stays down); publishing recovers once it is back', async () => {
  await sqs.stop();
  const down = await post('/orders', '{"sku":"D"}');
  assert.equal(down.status, 503);
  assert.equal(down.json.code, 'broker_unavailable');
  assert.equal(JSON.stringify(down.json).includes('127.0.0.1'), false, 'no internal address to the client');
  const started = performance.now();
  const again = await post('/orders', '{"sku":"D"}');
  assert.equal(again.json.code, 'broker_unavailable');
  assert.ok(performance.now() - started < 500, 'refused at once, without waiting on the network');
  await sqs.start();
  await new Promise((r) => setTimeout(r, 1100));
  const count = sqs.messages('orders').length;
  const back = await post('/orders', '{"sku":"E"}');
  assert.equal(back.status, 202, JSON.stringify(back.json));
  assert.equal(sqs.messages('orders').length, count + 1);
});
