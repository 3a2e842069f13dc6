import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SERVICEBUS, failureCode } from '../../../src/upstream/broker/servicebus.js';
import type { BrokerConnection, OutgoingMessage } from '../../../src/upstream/broker/broker.js';
import { PublishFailure } from '../../../src/upstream/broker/broker.js';
import { startServiceBusStandIn, type ServiceBusStandIn } from '../../harness/servicebus-standin.js';
import { makeIdentity } from '../../../src/identity/identity.js';

// The Service Bus connection with the real @azure/service-bus SDK against the local stand-in
// (test/harness/servicebus-standin.ts): Service Bus itself is a cloud service.
let sb: ServiceBusStandIn;
before(async () => { sb = await startServiceBusStandIn({ queues: ['orders'] }); });
after(async () => { await sb?.stop(); });

type Config = Parameters<typeof SERVICEBUS.connect>[0];
const configOf = (timeout = '2s'): Config => ({
  type: 'servicebus', connectionString: sb.connectionString, destination: 'orders', timeout, maxInFlight: 1, idempotencyHeader: 'idempotency-key', requireIdempotencyKey: false, contentTypes: ['*/*'],
});
let route: Config;
const connect = (timeout = '2s'): BrokerConnection<Config> => SERVICEBUS.connect((route = configOf(timeout)));
const message = (id: string): OutgoingMessage => ({ id, body: Buffer.from(id), contentType: 'text/plain', time: new Date(), attributes: new Map([['id', id]]), identity: undefined });
const failure = async (p: Promise<unknown>): Promise<PublishFailure> => {
  try { await p; } catch (err) { assert.ok(err instanceof PublishFailure, String(err)); return err; }
  assert.fail('expected a PublishFailure');
};

test('the SDK\'s codes map to the broker failure codes; of its retries the last attempt decides', () => {
  const sbError = (code: string): Error => Object.assign(new Error(code), { name: 'ServiceBusError', code });
  assert.equal(failureCode(sbError('MessagingEntityNotFound')), 'broker_refused');
  assert.equal(failureCode(sbError('UnauthorizedAccess')), 'broker_refused');
  assert.equal(failureCode(sbError('MessagingEntityDisabled')), 'broker_refused');
  assert.equal(failureCode(sbError('ServiceBusy')), 'broker_unavailable');
  assert.equal(failureCode(sbError('ServiceCommunicationProblem')), 'broker_unavailable');
  assert.equal(failureCode(sbError('ServiceTimeout')), 'broker_timeout');
  assert.equal(failureCode(Object.assign(new Error('aborted'), { name: 'AbortError' })), 'broker_timeout');
  assert.equal(failureCode(Object.assign(new Error('no credential'), { name: 'CredentialUnavailableError' })), 'broker_refused');
  assert.equal(failureCode(Object.assign(new Error('chain failed'), { name: 'AggregateAuthenticationError' })), 'broker_refused');
  assert.equal(failureCode(new AggregateError([sbError('ServiceTimeout'), sbError('GeneralError')])), 'broker_unavailable');
  assert.equal(failureCode(sbError('MessageSizeExceeded')), 'message_unsendable');
});

test('routes with different session id templates share one connection; each message gets its route\'s key for its caller', async () => {
  const conn = connect();
  const opened = sb.connections;
  const caller = makeIdentity({ provider: 'p', subject: 'alice', tenant: 't-1', roles: [], groups: [], scopes: [], authMethod: 'jwt', claims: { team: 'blue' } });
  const signed = (id: string): OutgoingMessage => ({ ...message(id), identity: caller });
  try {
    await conn.publish('orders', signed('by-subject'), new AbortController().signal, { ...route, sessionId: '{subject}' });
    await conn.publish('orders', signed('by-claim'), new AbortController().signal, { ...route, sessionId: 'team-{claim:team}', partitionKey: 'team-{claim:team}' });
    await conn.publish('orders', signed('none'), new AbortController().signal, route);
    const [a, b, c] = sb.messages('orders').slice(-3);
    assert.deepEqual([a?.sessionId, b?.sessionId, b?.partitionKey, c?.sessionId], ['alice', 'team-blue', 'team-blue', undefined]);
    assert.equal(sb.connections - opened, 1, 'one AMQP connection for all three');
    const f = await failure(conn.publish('orders', message('anonymous'), new AbortController().signal, { ...route, sessionId: '{subject}' }));
    assert.equal(f.code, 'broker_refused', 'no caller, no session id: refused before sending');
  } finally {
    await conn.close();
  }
});

test('an aborted wait is broker_timeout, and nothing is sent', async () => {
  const conn = connect();
  try {
    const count = sb.messages('orders').length;
    const f = await failure(conn.publish('orders', message('aborted'), AbortSignal.abort(), route));
    assert.equal(f.code, 'broker_timeout');
    assert.equal(sb.messages('orders').length, count);
  } finally {
    await conn.close();
  }
});

test('after the namespace dropped the connection: the next publish is broker_unavailable within the timeout, the one after fails at once, and close() does not hang', async () => {
  const conn = connect('2s');
  await conn.publish('orders', message('first'), new AbortController().signal, route);
  await sb.stop();
  try {
    let started = performance.now();
    assert.equal((await failure(conn.publish('orders', message('down'), new AbortController().signal, route))).code, 'broker_unavailable');
    assert.ok(performance.now() - started < 2000, 'the SDK\'s retries fit in the route\'s timeout');
    started = performance.now();
    assert.equal((await failure(conn.publish('orders', message('still-down'), new AbortController().signal, route))).code, 'broker_unavailable');
    assert.ok(performance.now() - started < 100, 'while it is down, publishes fail at once');
  } finally {
    await sb.restart();
  }
  const idle = connect('2s');
  await idle.publish('orders', message('idle'), new AbortController().signal, route);
  await sb.restart(); // drops the idle connection
  const started = performance.now();
  await Promise.all([conn.close(), idle.close()]);
  assert.ok(performance.now() - started < 3000, 'a drain waits a bounded time for the SDK');
  const f = await failure(idle.publish('orders', message('closed'), new AbortController().signal, route));
  assert.equal(f.code, 'broker_unavailable');
});
