// Publishes per second through the gateway against the broker client alone, per broker, in one run:
// the gateway (compiled, one process) answers each POST with 202 once the broker confirmed the message;
// the baseline (bench/broker-client.mjs) publishes the same body with the same client library and the
// same number of concurrent publishers waiting for confirmations. Through the gateway, two routes: a
// public one (the HTTP hop and the broker upstream alone) and one checking an API key (a typical route).
// The queue drops its oldest messages beyond a bound, so a run does not fill the broker's memory.
// RabbitMQ and NATS are the machine's real brokers; SQS and Service Bus are cloud services, so for
// them both sides drive the real SDK against the suite's local stand-ins (in this process), which
// measures the gateway's overhead over the SDK, not the cloud service.
// Usage: npm run bench:brokers   (knobs: BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS, AMQP_URL)
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { connect as connectNats } from '@nats-io/transport-node';
import { DiscardPolicy, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { benchFile, GATEWAY_READY, measureLoad, median, startChild, stopChildren } from './lib.js';
import { formatApiKeyHash, generateApiKey } from '../src/authn/apikey/format.js';
import { startSqsStandIn } from '../test/harness/sqs-standin.js';
import { startServiceBusStandIn } from '../test/harness/servicebus-standin.js';

const run = promisify(execFile);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const sqs = await startSqsStandIn('eu-west-1');
const SQS_KEY = { accessKeyId: 'AKIABENCHSQS00000001', secretAccessKey: `bench-${Math.random().toString(36).slice(2)}` };
await sqs.addKey(SQS_KEY.accessKeyId, { secret: SQS_KEY.secretAccessKey, principal: 'bench' });
const sb = await startServiceBusStandIn({ queues: [`gh-bench-${process.pid}`] });
const BODY = '{"orderId":"1001","lines":[{"sku":"A-1","qty":2}]}';
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-brokers-'));
const QUEUE = `gh-bench-${process.pid}`;

interface Broker {
  readonly label: string;
  /** The broker upstream of the gateway's routes. */
  readonly upstream: Record<string, unknown>;
  /** Options of bench/broker-client.mjs. */
  readonly client: Record<string, unknown>;
  prepare(): Promise<() => Promise<void>>;
}

const BROKERS: Record<string, Broker> = {
  rabbitmq: {
    label: 'RabbitMQ (amqplib, confirm channel, mandatory)',
    upstream: { type: 'rabbitmq', url: AMQP_URL, destination: QUEUE, persistent: false },
    client: { broker: 'rabbitmq', url: AMQP_URL, destination: QUEUE },
    async prepare() {
      const model = await connect(AMQP_URL);
      const ch = await model.createChannel();
      await ch.assertQueue(QUEUE, { durable: false, arguments: { 'x-max-length': 10000, 'x-overflow': 'drop-head' } });
      return async () => { await ch.deleteQueue(QUEUE); await model.close(); };
    },
  },
  sqs: {
    label: 'Amazon SQS (@aws-sdk/client-sqs; local stand-in)',
    upstream: { type: 'sqs', region: 'eu-west-1', endpoint: sqs.url, destination: QUEUE, credentials: { static: SQS_KEY } },
    client: { broker: 'sqs', url: sqs.url, region: 'eu-west-1', destination: QUEUE, credentials: SQS_KEY },
    prepare() { sqs.createQueue(QUEUE); return Promise.resolve(() => sqs.close()); },
  },
  servicebus: {
    label: 'Azure Service Bus (@azure/service-bus; local AMQP 1.0 stand-in)',
    upstream: { type: 'servicebus', connectionString: sb.connectionString, destination: QUEUE },
    client: { broker: 'servicebus', url: sb.connectionString, destination: QUEUE },
    prepare() { return Promise.resolve(() => sb.stop()); },
  },
  nats: {
    label: 'NATS JetStream (acknowledged publish, Nats-Msg-Id)',
    upstream: { type: 'nats', servers: NATS_URL, destination: `${QUEUE}.orders` },
    client: { broker: 'nats', url: NATS_URL, destination: `${QUEUE}.orders` },
    async prepare() {
      const nc = await connectNats({ servers: NATS_URL });
      const jsm = await jetstreamManager(nc);
      // Memory storage, bounded: like the RabbitMQ queue, a run does not fill the server.
      await jsm.streams.add({ name: QUEUE, subjects: [`${QUEUE}.>`], storage: StorageType.Memory, max_msgs: 10000, discard: DiscardPolicy.Old });
      return async () => { await jsm.streams.delete(QUEUE); await nc.close(); };
    },
  },
};

const { id, key } = generateApiKey();
writeFileSync(join(dir, 'keys.yaml'), `keys:\n  - ${JSON.stringify({ id, name: 'bench', roles: ['writer'], hash: formatApiKeyHash(key) })}\n`);
// For scale: the same POSTs through a public HTTP route to the bench's echo upstream (what an HTTP hop costs here).
const [, echoPort] = (await startChild([benchFile('./upstream.mjs')], /^(\d+)\n/)) as RegExpMatchArray;
writeFileSync(join(dir, 'gateway.json'), JSON.stringify({
  listen: { port: 0, host: '127.0.0.1' },
  admin: { port: 0 },
  audit: { sink: 'file', path: join(dir, 'audit.log') },
  providers: { partners: { type: 'api-key', keys: join(dir, 'keys.yaml') } },
  routes: [{ name: 'http', match: { path: '/http/*', methods: ['POST'] }, public: true, upstream: { url: `http://127.0.0.1:${echoPort}` } }, ...Object.entries(BROKERS).flatMap(([name, b]) => [
    { name: `${name}-public`, match: { path: `/${name}/public`, methods: ['POST'] }, public: true, upstream: b.upstream },
    { name: `${name}-apikey`, match: { path: `/${name}/apikey`, methods: ['POST'] }, authenticate: ['partners'], allow: [{ roles: ['writer'] }], upstream: b.upstream },
  ])],
}));

const cleanups: (() => Promise<void>)[] = [];
try {
  for (const b of Object.values(BROKERS)) cleanups.push(await b.prepare());
  const [, port] = (await startChild([benchFile('../bin/gatehouse.js'), 'start', '-c', join(dir, 'gateway.json')], GATEWAY_READY)) as RegExpMatchArray;
  const headers = { 'content-type': 'application/json' };
  const scenarios: Record<string, () => Promise<number>> = {};
  for (const [name, b] of Object.entries(BROKERS)) {
    scenarios[`${name}/client`] = async () => {
      const { stdout } = await run(process.execPath, [benchFile('./broker-client.mjs'), JSON.stringify({ ...b.client, seconds: SECONDS, concurrency: CONNECTIONS, body: BODY })]);
      return (JSON.parse(stdout) as { rps: number }).rps;
    };
    scenarios[`${name}/public`] = () => measureLoad({ url: `http://127.0.0.1:${port}/${name}/public`, method: 'POST', body: BODY, headers, seconds: SECONDS, connections: CONNECTIONS });
    scenarios[`${name}/apikey`] = () => measureLoad({ url: `http://127.0.0.1:${port}/${name}/apikey`, method: 'POST', body: BODY, headers: { ...headers, 'x-api-key': key }, seconds: SECONDS, connections: CONNECTIONS });
  }
  scenarios['http/public'] = () => measureLoad({ url: `http://127.0.0.1:${port}/http/x`, method: 'POST', body: BODY, headers, seconds: SECONDS, connections: CONNECTIONS });
  const ids = Object.keys(scenarios);
  const results = new Map<string, number[]>(ids.map((s) => [s, []]));
  for (const s of ids) await scenarios[s]!(); // warm-up pass (connections, JIT), not recorded
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < ids.length; k++) {
      const s = ids[(round + k) % ids.length]!;
      results.get(s)!.push(await scenarios[s]!());
    }
  }
  console.log(`\n${ROUNDS} rounds (order rotated each round) of ${SECONDS} s (+1 s warm-up), ${CONNECTIONS} concurrent publishers / keep-alive connections;`);
  console.log('gateway, broker and load generator share this machine\'s cores. Every gateway answer counted was a 202 (confirmed).\n');
  console.log('| broker | client alone, msg/s | gateway public route, msg/s | ratio | gateway API-key route, msg/s | ratio |\n|---|--:|--:|--:|--:|--:|');
  for (const [name, b] of Object.entries(BROKERS)) {
    const base = median(results.get(`${name}/client`)!);
    const pub = median(results.get(`${name}/public`)!);
    const auth = median(results.get(`${name}/apikey`)!);
    console.log(`| ${b.label} | ${base.toFixed(0)} | ${pub.toFixed(0)} | ${(pub / base).toFixed(2)} | ${auth.toFixed(0)} | ${(auth / base).toFixed(2)} |`);
  }
  console.log(`\nFor scale, the same POSTs through a public HTTP route to an echo upstream: ${median(results.get('http/public')!).toFixed(0)} req/s.`);
} finally {
  stopChildren();
  for (const c of cleanups) await c().catch(() => undefined);
}
