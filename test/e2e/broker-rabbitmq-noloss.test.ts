import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'amqplib';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { type TestRabbitMq, startOwnRabbitMq } from '../harness/rabbitmq.js';
import { writeApiKeyFile } from '../harness/api-keys.js';
import type { Identity } from '../../src/identity/identity.js';
import { brokerConnection } from '../../src/upstream/broker/broker.js';
import { messageIdFor } from '../../src/upstream/broker/message.js';

// No loss across a broker crash. A RabbitMQ node of the test's own (the machine's broker is not
// touched) is SIGKILLed in the middle of a steady load and started again on the same data: every
// request the gateway answered 202 must be in the durable queue afterwards; every other answer
// is a 5xx with a broker code, which the client retries with the same Idempotency-Key. RabbitMQ
// does not de-duplicate, so the queue may hold a retried key twice; the consumer drops repeated
// message ids, and after that each accepted key is there exactly once.
const CLIENTS = 16;
const LOAD_BEFORE_KILL_MS = 1500;
const DOWN_MS = 1000;
const LOAD_AFTER_RESTART_MS = 1500;
/** Retries outlast the slowest restart startRabbitMq waits for (30 s). */
const MAX_ATTEMPTS = 200;
const RETRY_DELAY_MS = 200;
const BROKER_CODES = new Set(['broker_unavailable', 'broker_timeout', 'broker_refused']);
const QUEUE = `gh-noloss-${process.pid}`;

let mq: TestRabbitMq | undefined;
let gw: TestGateway;
let apiKey: string;

before(async () => {
  mq = await startOwnRabbitMq('the RabbitMQ no-loss test');
  if (mq === undefined) return;
  console.log(`RabbitMQ test node started in ${mq.startMs} ms`);
  const admin = await connect(mq.url);
  const ch = await admin.createChannel();
  await ch.assertQueue(QUEUE, { durable: true });
  await admin.close();
  // A clean restart puts the fresh declaration on disk: a SIGKILL a second after a node's first boot
  // has been seen to lose the queue itself (RabbitMQ's metadata store, not the messages). This test
  // is about messages published to a queue that was there before, as in production.
  await mq.shutdown();
  await mq.start();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-noloss-'));
  const keysFile = join(dir, 'keys.yaml');
  apiKey = writeApiKeyFile(keysFile, [{ name: 'loader', roles: ['writer'] }]).loader!;
  process.env.GH_TEST_NOLOSS_AMQP_URL = mq.url;
  gw = await startGateway({
    log: { level: 'error' }, // the outage's connection warnings are counted below, not printed
    providers: { partners: { type: 'api-key', keys: keysFile } },
    routes: [{
      name: 'ingest', match: { path: '/ingest', methods: ['POST'] }, authenticate: ['partners'], allow: [{ roles: ['writer'] }],
      upstream: { type: 'rabbitmq', url: '${env:GH_TEST_NOLOSS_AMQP_URL}', destination: QUEUE, persistent: true, timeout: '3s', requireIdempotencyKey: true },
    }],
  });
});

after(async () => {
  await gw?.stop();
  await mq?.stop();
});

interface Outcome { key: string; id?: string; attempts: number; codes: string[]; firstAttemptAt: number }

interface Load {
  outcomes: Outcome[];
  /** Any answer that is neither 202 nor a 5xx problem with a broker code, or a request with no answer. */
  unexpected: string[];
}

async function post(key: string): Promise<{ status: number; contentType: string | null; json: Record<string, unknown> }> {
  const res = await fetch(`${gw.url}/ingest`, {
    method: 'POST', body: JSON.stringify({ key }),
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey, 'idempotency-key': key },
  });
  return { status: res.status, contentType: res.headers.get('content-type'), json: (await res.json()) as Record<string, unknown> };
}

/** Send one key until it is accepted (or MAX_ATTEMPTS), always with the same Idempotency-Key. */
async function deliver(key: string, load: Load): Promise<Outcome> {
  const outcome: Outcome = { key, attempts: 0, codes: [], firstAttemptAt: Date.now() };
  while (outcome.attempts < MAX_ATTEMPTS) {
    outcome.attempts++;
    let res;
    try {
      res = await post(key);
    } catch (err) {
      load.unexpected.push(`${key}: no answer (${(err as Error).message})`);
      return outcome;
    }
    if (res.status === 202) {
      outcome.id = String(res.json.id);
      if (res.json.duplicate !== false) load.unexpected.push(`${key}: 202 with duplicate=${String(res.json.duplicate)}`);
      return outcome;
    }
    const code = String(res.json.code);
    outcome.codes.push(code);
    if (res.status < 500 || !BROKER_CODES.has(code) || res.contentType !== 'application/problem+json') {
      load.unexpected.push(`${key}: ${res.status} ${res.contentType} ${code}`);
      return outcome;
    }
    await sleep(RETRY_DELAY_MS);
  }
  return outcome;
}

/** CLIENTS clients, each sending one new key after another until `stop()` says so. */
function runLoad(): { load: Load; stop: () => Promise<void> } {
  const load: Load = { outcomes: [], unexpected: [] };
  let running = true;
  const clients = Array.from({ length: CLIENTS }, async (_, c) => {
    for (let n = 0; running; n++) load.outcomes.push(await deliver(`k-${c}-${n}`, load));
  });
  return { load, stop: async () => { running = false; await Promise.all(clients); } };
}

/** Every message of the queue, consumed: message id → copies. Nothing is in flight any more. */
async function drain(url: string): Promise<Map<string, number>> {
  const model = await connect(url);
  const ch = await model.createChannel();
  const { messageCount } = await ch.checkQueue(QUEUE);
  const copies = new Map<string, number>();
  let received = 0;
  await new Promise<void>((resolve, reject) => {
    if (messageCount === 0) return resolve();
    ch.consume(QUEUE, (m) => {
      if (m === null) return reject(new Error('the consumer was cancelled'));
      const id = String(m.properties.messageId);
      copies.set(id, (copies.get(id) ?? 0) + 1);
      if (++received === messageCount) resolve();
    }, { noAck: true }).catch(reject);
  });
  await model.close();
  return copies;
}

test('no accepted message is lost when the broker is SIGKILLed mid-load and restarted', async (t) => {
  if (mq === undefined) return t.skip('no rabbitmq-server');
  const node = mq;
  const states: string[] = [];
  const onState = (m: unknown): void => { states.push((m as { state: string }).state); };
  subscribe(brokerConnection.name, onState);
  try {
    const { load, stop } = runLoad();
    await sleep(LOAD_BEFORE_KILL_MS);
    await node.kill();
    const killedAt = Date.now();
    await sleep(DOWN_MS);
    await node.start();
    const restartedAt = Date.now();
    console.log(`RabbitMQ test node restarted in ${node.startMs} ms`);
    await sleep(LOAD_AFTER_RESTART_MS);
    await stop();

    const after = await post('after-the-restart');
    assert.equal(after.status, 202, `a publish after the restart works without restarting the gateway: ${JSON.stringify(after.json)}`);
    const accepted = [...load.outcomes, { key: 'after-the-restart', id: String(after.json.id), attempts: 1, codes: [], firstAttemptAt: Date.now() }];
    const copies = await drain(node.url);

    const byCode = new Map<string, number>();
    for (const o of load.outcomes) for (const c of o.codes) byCode.set(c, (byCode.get(c) ?? 0) + 1);
    const ok = accepted.filter((o) => o.id !== undefined);
    const retried = accepted.filter((o) => o.attempts > 1);
    const inQueue = [...copies.values()].reduce((a, b) => a + b, 0);
    console.log(JSON.stringify({
      keys: accepted.length, accepted202: ok.length, answers5xx: Object.fromEntries(byCode), retriedKeys: retried.length,
      retries: accepted.reduce((a, o) => a + o.attempts - 1, 0), messagesInQueue: inQueue, distinctIds: copies.size,
      duplicates: inQueue - copies.size, connectionsUp: states.filter((s) => s === 'up').length, connectionsDownOrRefused: states.filter((s) => s === 'down').length, gaveUp: accepted.length - ok.length,
    }));

    assert.deepEqual(load.unexpected, [], 'every answer was a 202 or a 5xx problem with a broker code');
    assert.ok(byCode.size > 0, 'the crash was felt: some requests were refused');
    assert.deepEqual(accepted.filter((o) => o.id === undefined).map((o) => o.key), [], 'every key was eventually accepted');
    const caller = { provider: 'partners', subject: 'loader' } as Identity;
    assert.deepEqual(ok.filter((o) => o.id !== messageIdFor(caller, o.key)).map((o) => o.key), [], 'the 202 id is the message id made from caller and key');
    const acceptedIds = new Map(ok.map((o) => [o.id!, o]));
    assert.equal(acceptedIds.size, ok.length, 'distinct keys have distinct message ids');
    const lost = ok.filter((o) => !copies.has(o.id!)).map((o) => o.key);
    assert.deepEqual(lost, [], 'every message answered 202 is in the queue after the crash');
    assert.deepEqual([...copies.keys()].filter((id) => !acceptedIds.has(id)), [], 'the queue holds nothing but the keys sent');
    for (const [id, n] of copies) {
      const o = acceptedIds.get(id)!;
      assert.ok(n === 1 || (o.attempts > 1 && n <= o.attempts), `${o.key}: ${n} copies after ${o.attempts} attempt(s): only a retried key may repeat`);
    }
    assert.equal(copies.size, ok.length, 'after de-duplication by message id, each accepted key exactly once');
    const afterRestart = ok.filter((o) => o.firstAttemptAt > restartedAt && o.attempts === 1);
    assert.ok(afterRestart.length > 0, 'keys sent after the restart are accepted at the first attempt');
    assert.ok(ok.some((o) => o.firstAttemptAt < killedAt), 'keys were accepted before the crash');
    assert.ok(states.filter((s) => s === 'up').length >= 2, 'the gateway connected, and connected again after the restart');
    // While the broker is down the gateway tries about once a second (1 s back-off), not once per request.
    const outageSeconds = (restartedAt - killedAt) / 1000;
    assert.ok(states.filter((s) => s === 'down').length <= 2 * outageSeconds + 5, `no reconnect storm: ${states.length} connection state changes in a ${outageSeconds.toFixed(1)} s outage`);
  } finally {
    unsubscribe(brokerConnection.name, onState);
  }
});
