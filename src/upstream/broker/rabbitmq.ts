/**
 * RabbitMQ (AMQP 0-9-1, amqplib): publisher confirms on one confirm channel per connection, and
 * `mandatory` so that a message no queue takes is an error (basic.return before the ack), never
 * silence. The connection is made on first use and again after it drops; while the broker is
 * down, publishes fail at once with 503 and the next attempt after a short back-off reconnects.
 * While the broker blocks this connection (a memory or disk alarm), publishes fail at once too.
 */
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { Type } from '@sinclair/typebox';
import { Strict } from '../../config/types.js';
import { parseDuration } from '../../config/units.js';
import { PublishFailure, reportConnection, type BrokerConnection, type BrokerKind, type Confirmation, type OutgoingMessage } from './broker.js';
import { BrokerFields } from './schema.js';

export const RabbitMqSchema = Strict({
  type: Type.Literal('rabbitmq', { description: 'A RabbitMQ exchange or queue (AMQP 0-9-1, publisher confirms).' }),
  url: Type.String({ pattern: '^amqps?://', secret: true, description: 'Broker URL with credentials, `amqp://user:password@mq:5672/vhost` or `amqps://…` (a secret reference: `${env:AMQP_URL}`).' }),
  exchange: Type.String({ default: '', description: 'Exchange to publish to, with the destination as routing key. Default `""`: the default exchange, where the destination is a queue name. Never declared by the gateway.' }),
  persistent: Type.Boolean({ default: true, description: 'Mark messages persistent (delivery mode 2): a durable queue keeps them across a broker restart.' }),
  ca: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA bundle trusted for an `amqps://` broker (pinned: the system roots then do not verify it).' })),
  ...BrokerFields,
}, 'Publish each request body as one message to RabbitMQ (see docs/brokers.md).');

type RabbitMqConfig = typeof RabbitMqSchema.static;

/** How long after a failed connect the next publish tries again (publishes in between fail at once). */
const RETRY_AFTER_MS = 1000;
/** Header names of the CloudEvents attributes (binary content mode). */
const CE = 'ce-';

interface Pending { readonly id: string; returned: boolean }

/** The confirm channel, and why the broker closed it if it did (an unknown exchange, access refused). */
interface Link { readonly channel: ConfirmChannel; refusal?: Error }

class RabbitMqConnection implements BrokerConnection<RabbitMqConfig> {
  #link: Promise<Link> | undefined;
  /** The open connection; it outlives a channel the broker closed, and the next channel is opened on it. */
  #model: ChannelModel | undefined;
  /** Why the broker blocks publishers (a memory or disk alarm), while it does. */
  #blocked: string | undefined;
  #failedAt = -Infinity;
  #closed = false;
  /** Publishes waiting for their ack, oldest first: a basic.return is matched to the oldest with its id. */
  readonly #pending: Pending[] = [];

  constructor(private readonly cfg: RabbitMqConfig, private readonly label: string) {}

  async #connect(): Promise<ChannelModel> {
    const socket = { timeout: parseDuration(this.cfg.timeout), noDelay: true, keepAlive: true, ...(this.cfg.ca !== undefined ? { ca: [this.cfg.ca] } : {}) };
    // amqplib is loaded on first connect: a gateway without a RabbitMQ route does not carry it.
    const { connect } = await import('amqplib');
    const model = await connect(this.cfg.url, socket);
    model.on('error', () => { /* followed by 'close' */ });
    if (this.#closed) {
      await model.close().catch(() => undefined);
      throw new PublishFailure('broker_unavailable', 'the gateway is shutting down');
    }
    this.#model = model;
    // A blocked connection takes publishes but holds them until the alarm clears: they would wait for
    // the timeout, then be stored anyway behind the 504.
    model.on('blocked', (reason: unknown) => { if (this.#model === model) this.#blocked = String(reason); });
    model.on('unblocked', () => { if (this.#model === model) this.#blocked = undefined; });
    model.on('close', (err?: unknown) => {
      if (this.#model === model) { this.#model = undefined; this.#link = undefined; this.#blocked = undefined; }
      if (!this.#closed) reportConnection(this.label, 'down', err ?? new Error('connection closed'));
    });
    reportConnection(this.label, 'up');
    return model;
  }

  #open(): Promise<Link> {
    if (this.#link !== undefined) return this.#link;
    if (this.#closed) return Promise.reject(new PublishFailure('broker_unavailable', 'the gateway is shutting down'));
    if (performance.now() - this.#failedAt < RETRY_AFTER_MS) return Promise.reject(new PublishFailure('broker_unavailable', `${this.label} is unreachable (retrying)`));
    const model = this.#model;
    const opening = (async (): Promise<Link> => {
      const channel = await (model ?? (await this.#connect())).createConfirmChannel();
      const link: Link = { channel };
      // A channel the broker closes emits 'error' (then 'close'); a lost connection only 'close'.
      channel.on('error', (err: Error) => { link.refusal = err; });
      channel.on('close', () => { if (this.#link === opening) this.#link = undefined; });
      channel.on('return', (msg: { properties: { messageId?: unknown } }) => {
        const entry = this.#pending.find((p) => p.id === msg.properties.messageId && !p.returned);
        if (entry !== undefined) entry.returned = true;
      });
      return link;
    })();
    this.#link = opening;
    opening.catch((err: unknown) => {
      if (this.#link === opening) this.#link = undefined;
      this.#failedAt = performance.now();
      if (!this.#closed && model === undefined) reportConnection(this.label, 'down', err);
    });
    return opening;
  }

  async publish(destination: string, message: OutgoingMessage, _signal: AbortSignal, route: RabbitMqConfig): Promise<Confirmation> {
    let link: Link;
    try {
      link = await this.#open();
    } catch (err) {
      throw err instanceof PublishFailure ? err : new PublishFailure('broker_unavailable', `cannot connect to ${this.label} (${(err as { code?: string }).code ?? (err as Error).name})`, { cause: err });
    }
    if (this.#blocked !== undefined) throw new PublishFailure('broker_unavailable', `${this.label} blocks publishers (${this.#blocked})`);
    const headers: Record<string, string> = {};
    for (const [name, value] of message.attributes) headers[CE + name] = value;
    const entry: Pending = { id: message.id, returned: false };
    this.#pending.push(entry);
    try {
      await new Promise<void>((resolve, reject) => {
        try {
          link.channel.publish(route.exchange, destination, message.body, {
            mandatory: true, persistent: route.persistent, messageId: message.id, contentType: message.contentType,
            timestamp: Math.floor(message.time.getTime() / 1000), appId: 'gatehouse', headers,
          }, (err) => (err ? reject(err as Error) : resolve()));
        } catch (err) {
          reject(err as Error);
        }
      });
    } catch (err) {
      // The broker closed the channel (unknown exchange, access refused), the channel closed before
      // the ack (the connection was lost: the message may be stored, a retry repeats it), or a nack.
      if (link.refusal !== undefined) throw new PublishFailure('broker_refused', `${this.label} closed the channel: ${link.refusal.message}`, { cause: err });
      const closed = /closed/i.test((err as Error).message);
      throw new PublishFailure(closed ? 'broker_unavailable' : 'broker_refused', closed ? `${this.label} closed the channel before confirming` : `${this.label} refused the message (nack)`, { cause: err });
    } finally {
      this.#pending.splice(this.#pending.indexOf(entry), 1);
    }
    if (entry.returned) throw new PublishFailure('broker_refused', `no queue is bound for "${destination}" on exchange "${route.exchange}" (returned as unroutable)`);
    return { brokerId: message.id };
  }

  async close(): Promise<void> {
    this.#closed = true;
    const model = this.#model;
    this.#model = undefined;
    this.#link = undefined;
    await model?.close().catch(() => undefined);
  }
}

/** `amqp://host:port/vhost`, without credentials. */
function labelOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' || u.pathname === '' ? '' : u.pathname}`;
  } catch {
    return 'rabbitmq';
  }
}

export const RABBITMQ: BrokerKind<typeof RabbitMqSchema> = {
  schema: RabbitMqSchema,
  label: (cfg) => `${labelOf(cfg.url)}${cfg.exchange === '' ? '' : `#${cfg.exchange}`}`,
  connectionKey: (cfg) => JSON.stringify([cfg.url, cfg.ca ?? null, cfg.timeout]),
  connect: (cfg) => new RabbitMqConnection(cfg, labelOf(cfg.url)),
  issues(cfg, path) {
    try {
      new URL(cfg.url);
      return [];
    } catch {
      // The value is not echoed: it holds the broker's password.
      return [{ path: `${path}/url`, message: 'expected a URL such as amqp://user:password@mq:5672 (the value is not shown: it may hold a password)' }];
    }
  },
};
