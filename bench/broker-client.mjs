// The broker client alone, as the baseline of bench/brokers.ts: `concurrency` publishers each publish
// one message and wait for the broker's confirmation, in a closed loop, the way the gateway does per
// request. Prints one JSON line: { rps, total }.
// Usage: node bench/broker-client.mjs '<json options>'  with { broker, url, destination, seconds, concurrency, body, region?, credentials? }
import { randomUUID } from 'node:crypto';

const opts = JSON.parse(process.argv[2]);
const body = Buffer.from(opts.body);

/** A publish function for the broker: resolves once the broker confirmed one message. */
async function publisherFor() {
  if (opts.broker === 'rabbitmq') {
    const { connect } = await import('amqplib');
    const model = await connect(opts.url);
    const channel = await model.createConfirmChannel();
    return {
      publish: () => new Promise((resolve, reject) => channel.publish('', opts.destination, body, {
        mandatory: true, persistent: false, messageId: randomUUID(), contentType: 'application/json',
      }, (err) => (err ? reject(err) : resolve()))),
      close: () => model.close(),
    };
  }
  if (opts.broker === 'nats') {
    const { connect, headers } = await import('@nats-io/transport-node');
    const { jetstream } = await import('@nats-io/jetstream');
    const nc = await connect({ servers: opts.url });
    const js = jetstream(nc);
    return {
      publish: async () => {
        const h = headers();
        h.set('content-type', 'application/json');
        await js.publish(opts.destination, body, { msgID: randomUUID(), headers: h });
      },
      close: () => nc.close(),
    };
  }
  if (opts.broker === 'sqs') {
    const { SQSClient, SendMessageCommand, GetQueueUrlCommand } = await import('@aws-sdk/client-sqs');
    const client = new SQSClient({ region: opts.region, endpoint: opts.url, credentials: opts.credentials });
    const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: opts.destination }));
    const text = body.toString('utf8');
    return {
      publish: () => client.send(new SendMessageCommand({ QueueUrl, MessageBody: text, MessageAttributes: { 'content-type': { DataType: 'String', StringValue: 'application/json' } } })),
      close: async () => client.destroy(),
    };
  }
  if (opts.broker === 'servicebus') {
    const { ServiceBusClient } = await import('@azure/service-bus');
    const client = new ServiceBusClient(opts.url);
    const sender = client.createSender(opts.destination);
    return {
      publish: () => sender.sendMessages({ body, contentType: 'application/json', messageId: randomUUID() }),
      close: async () => { await sender.close(); await client.close(); },
    };
  }
  throw new Error(`no baseline for broker ${opts.broker}`);
}

const client = await publisherFor();
let total = 0;
let measured = 0;
let measuredStart = 0;
const warmupEnd = Date.now() + 1000;
const end = warmupEnd + opts.seconds * 1000;
async function loop() {
  while (Date.now() < end) {
    await client.publish();
    if (Date.now() >= warmupEnd) {
      if (measuredStart === 0) measuredStart = Date.now();
      measured++;
    }
    total++;
  }
}
await Promise.all(Array.from({ length: opts.concurrency }, loop));
await client.close();
process.stdout.write(JSON.stringify({ rps: measured / ((Date.now() - measuredStart) / 1000), total }) + '\n');
