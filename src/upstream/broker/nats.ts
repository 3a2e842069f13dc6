/**
 * NATS JetStream (@nats-io/transport-node, @nats-io/jetstream): an acknowledged JetStream publish
 * per message, with `Nats-Msg-Id` = the message id so the stream drops a retry within its
 * duplicate window. A subject no stream captures has no responders: refused, never silence.
 * The client is made on first use and reconnects by itself after a drop; while it is disconnected
 * publishes fail at once (the client would otherwise buffer them), and a publish still waiting for
 * its ack when the connection drops fails too: only a PubAck is ever a 202.
 */
import {
  connect, credsAuthenticator, headers, InvalidArgumentError, nkeyAuthenticator, PermissionViolationError, RequestError, TimeoutError, type NatsConnection, type NodeConnectionOptions,
} from '@nats-io/transport-node';
import { jetstream, JetStreamApiError, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import { Type } from '@sinclair/typebox';
import type { ConfigIssue } from '../../config/issue.js';
import { Strict } from '../../config/types.js';
import { parseDuration } from '../../config/units.js';
import { PublishFailure, reportConnection, type BrokerConnection, type BrokerKind, type Confirmation, type OutgoingMessage } from './broker.js';
import { BrokerFields } from './schema.js';

// The scheme is checked in `issues`, not by a schema pattern: a pattern error would echo the value, which may hold a password.
const SERVER = Type.String({ minLength: 1, description: 'A server URL, `nats://nats:4222` or `tls://nats:4222` (TLS required), without credentials.' });

export const NatsSchema = Strict({
  type: Type.Literal('nats', { description: 'A NATS JetStream subject (acknowledged publish, de-duplicated by message id).' }),
  servers: Type.Union([SERVER, Type.Array(SERVER, { minItems: 1, uniqueItems: true })], { description: 'The server URL, or several of one cluster (`nats://` or `tls://`, not mixed).' }),
  token: Type.Optional(Type.String({ minLength: 1, secret: true, description: 'Token authentication (a secret reference: `${env:NATS_TOKEN}`).' })),
  user: Type.Optional(Type.String({ minLength: 1, description: 'User name for user/password authentication (with `password`).' })),
  password: Type.Optional(Type.String({ minLength: 1, secret: true, description: 'Password for `user` (a secret reference).' })),
  creds: Type.Optional(Type.String({ minLength: 1, secret: true, description: 'The text of a `.creds` file (user JWT and NKey seed), `${file:/etc/nats/gatehouse.creds}`.' })),
  nkey: Type.Optional(Type.String({ minLength: 1, secret: true, description: 'An NKey user seed (`SU…`), as a secret reference.' })),
  ca: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA bundle trusted for `tls://` servers (pinned: the system roots then do not verify them).' })),
  stream: Type.Optional(Type.String({ minLength: 1, pattern: '^[^.*>\\s]+$', description: 'The stream messages must land in: one that another stream captures is refused (`503 broker_refused`, not stored). Default: whichever stream captures the subject.' })),
  ...BrokerFields,
}, 'Publish each request body as one message to a NATS JetStream subject (see docs/brokers.md).');

type NatsConfig = typeof NatsSchema.static;

/** How long after a failed first connect the next publish tries again (publishes in between fail at once). */
const RETRY_AFTER_MS = 1000;
/** Header names of the CloudEvents attributes (binary content mode). */
const CE = 'ce-';

const serversOf = (cfg: NatsConfig): string[] => (typeof cfg.servers === 'string' ? [cfg.servers] : cfg.servers);

/** One client and what is known of it: `up` is false between a drop and the reconnect; `lost` aborts the publishes waiting at the drop. */
interface Live { readonly nc: NatsConnection; readonly js: JetStreamClient; up: boolean; lost: AbortController }

function clientOptions(cfg: NatsConfig, timeoutMs: number): NodeConnectionOptions {
  const servers = serversOf(cfg);
  const tls = servers.some((s) => s.startsWith('tls://')) || cfg.ca !== undefined;
  const encoder = new TextEncoder();
  return {
    servers: servers.map((s) => s.replace(/^[a-z]+:\/\//, '')),
    name: 'gatehouse',
    timeout: timeoutMs,
    // Reconnect forever, soon after a restart; publishes meanwhile are refused by this file, not buffered.
    maxReconnectAttempts: -1,
    reconnectTimeWait: RETRY_AFTER_MS,
    ...(cfg.token !== undefined ? { token: cfg.token } : {}),
    ...(cfg.user !== undefined ? { user: cfg.user, pass: cfg.password } : {}),
    ...(cfg.creds !== undefined ? { authenticator: credsAuthenticator(encoder.encode(cfg.creds)) } : {}),
    ...(cfg.nkey !== undefined ? { authenticator: nkeyAuthenticator(encoder.encode(cfg.nkey.trim())) } : {}),
    ...(tls ? { tls: cfg.ca !== undefined ? { ca: cfg.ca } : {} } : {}),
  };
}

/** `work`, or the reason of `signal` if it aborts first (`work` then ends unobserved). */
function unlessAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => undefined);
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** What a failed JetStream publish means for the client. */
function failureOf(err: unknown, destination: string, label: string): PublishFailure {
  if (err instanceof PublishFailure) return err;
  if (err instanceof Error && err.cause instanceof RequestError && err.cause.isNoResponders()) {
    return new PublishFailure('broker_refused', `no stream captures subject "${destination}" on ${label} (no responders; or JetStream is not enabled)`, { cause: err });
  }
  // The server's max_payload (1 MB by default) is smaller than the message: lower the route's maxBodySize.
  if (err instanceof InvalidArgumentError) return new PublishFailure('message_unsendable', `${label} cannot take the message: ${err.message}`, { cause: err });
  if (err instanceof JetStreamApiError) return new PublishFailure('broker_refused', `${label} refused the message: ${err.message} (${err.code})`, { cause: err });
  if (err instanceof TimeoutError) return new PublishFailure('broker_timeout', `no PubAck from ${label}`, { cause: err });
  if (err instanceof PermissionViolationError) return new PublishFailure('broker_refused', `${label} does not permit publishing to "${destination}"`, { cause: err });
  return new PublishFailure('broker_unavailable', `publish to ${label} failed (${(err as Error).name})`, { cause: err });
}

class NatsBrokerConnection implements BrokerConnection {
  #live: Promise<Live> | undefined;
  #failedAt = -Infinity;
  #closed = false;
  readonly #timeoutMs: number;

  constructor(private readonly cfg: NatsConfig, private readonly label: string) {
    this.#timeoutMs = parseDuration(cfg.timeout);
  }

  #open(): Promise<Live> {
    if (this.#live !== undefined) return this.#live;
    if (this.#closed) return Promise.reject(new PublishFailure('broker_unavailable', 'the gateway is shutting down'));
    if (performance.now() - this.#failedAt < RETRY_AFTER_MS) return Promise.reject(new PublishFailure('broker_unavailable', `${this.label} is unreachable (retrying)`));
    const opening = connect(clientOptions(this.cfg, this.#timeoutMs)).then((nc): Live => ({ nc, js: jetstream(nc, { timeout: this.#timeoutMs }), up: true, lost: new AbortController() }));
    this.#live = opening;
    opening.then((live) => {
      this.#watch(live, opening);
      reportConnection(this.label, 'up');
    }, (err: unknown) => {
      if (this.#live === opening) this.#live = undefined;
      this.#failedAt = performance.now();
      if (!this.#closed) reportConnection(this.label, 'down', err);
    });
    return opening;
  }

  /** Follow the client's status: down at a drop (failing the publishes waiting), up at the reconnect, gone when it closes. */
  #watch(live: Live, opening: Promise<Live>): void {
    const lostConnection = (): void => {
      live.up = false;
      live.lost.abort(new PublishFailure('broker_unavailable', `the connection to ${this.label} dropped before the PubAck (a retry with the same key is de-duplicated)`));
    };
    void (async () => {
      for await (const status of live.nc.status()) {
        if (status.type === 'disconnect') {
          lostConnection();
          if (!this.#closed) reportConnection(this.label, 'down', { code: 'disconnected' });
        } else if (status.type === 'reconnect') {
          live.lost = new AbortController();
          live.up = true;
          reportConnection(this.label, 'up');
        }
      }
    })().catch(() => undefined);
    void live.nc.closed().then((err) => {
      lostConnection();
      if (this.#live === opening) this.#live = undefined;
      this.#failedAt = performance.now();
      if (!this.#closed) reportConnection(this.label, 'down', err ?? { code: 'closed' });
    });
  }

  async publish(destination: string, message: OutgoingMessage, signal: AbortSignal): Promise<Confirmation> {
    let live: Live;
    try {
      live = await this.#open();
    } catch (err) {
      throw err instanceof PublishFailure ? err : new PublishFailure('broker_unavailable', `cannot connect to ${this.label} (${(err as { code?: string }).code ?? (err as Error).name})`, { cause: err });
    }
    if (!live.up) throw new PublishFailure('broker_unavailable', `${this.label} is disconnected (reconnecting)`);
    const h = headers();
    for (const [name, value] of message.attributes) h.set(CE + name, value);
    h.set('content-type', message.contentType);
    let ack: PubAck;
    try {
      const acked = live.js.publish(destination, message.body, {
        msgID: message.id, timeout: this.#timeoutMs, headers: h, ...(this.cfg.stream !== undefined ? { expect: { streamName: this.cfg.stream } } : {}),
      });
      ack = await unlessAborted(acked, AbortSignal.any([signal, live.lost.signal]));
    } catch (err) {
      // Aborted at the route's timeout (the broker upstream has answered 504 already).
      throw signal.aborted && !(err instanceof PublishFailure) ? new PublishFailure('broker_timeout', `no PubAck from ${this.label}`) : failureOf(err, destination, this.label);
    }
    return { brokerId: `${ack.stream}:${ack.seq}`, ...(ack.duplicate ? { duplicate: true } : {}) };
  }

  async close(): Promise<void> {
    this.#closed = true;
    const live = await this.#live?.catch(() => undefined);
    this.#live = undefined;
    if (live === undefined || live.nc.isClosed()) return;
    if (live.up) {
      // Drain (flush what was published, then close), but not for longer than a publish may wait.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([live.nc.drain().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, this.#timeoutMs)))]);
      clearTimeout(timer);
    }
    if (!live.nc.isClosed()) await live.nc.close().catch(() => undefined);
  }
}

/** `nats://host:4222`, without credentials. */
function labelOf(server: string): string {
  try {
    const u = new URL(server);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'nats';
  }
}

function serverIssues(cfg: NatsConfig, path: string): ConfigIssue[] {
  const servers = serversOf(cfg);
  const at = (i: number): string => (typeof cfg.servers === 'string' ? `${path}/servers` : `${path}/servers/${i}`);
  const issues: ConfigIssue[] = [];
  servers.forEach((server, i) => {
    let url: URL | undefined;
    try {
      url = new URL(server);
    } catch {
      url = undefined;
    }
    // The value is never echoed: it may hold a password.
    if (url === undefined || url.hostname === '' || !/^(nats|tls):$/.test(url.protocol)) issues.push({ path: at(i), message: 'expected a URL such as nats://nats:4222 or tls://nats:4222 (the value is not shown: it may hold a password)' });
    else if (url.username !== '' || url.password !== '') issues.push({ path: at(i), message: 'a server URL carries no credentials (the value is not shown); give them in token, user and password, creds or nkey' });
  });
  if (issues.length === 0 && new Set(servers.map((s) => s.slice(0, s.indexOf(':')))).size > 1) issues.push({ path: `${path}/servers`, message: 'mixed nats:// and tls:// servers: a cluster is reached with TLS or without it' });
  return issues;
}

function authIssues(cfg: NatsConfig, path: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const given = [cfg.token && 'token', (cfg.user ?? cfg.password) && 'user/password', cfg.creds && 'creds', cfg.nkey && 'nkey'].filter(Boolean);
  if (given.length > 1) issues.push({ path, message: `one authentication at most: ${given.join(', ')} are given` });
  if (cfg.user !== undefined && cfg.password === undefined) issues.push({ path: `${path}/password`, message: 'user needs a password' });
  if (cfg.password !== undefined && cfg.user === undefined) issues.push({ path: `${path}/user`, message: 'password needs a user' });
  if (cfg.ca !== undefined && serversOf(cfg).every((s) => s.startsWith('nats://'))) issues.push({ path: `${path}/ca`, message: 'ca is for tls:// servers: write the servers as tls://host:4222' });
  return issues;
}

export const NATS: BrokerKind<typeof NatsSchema> = {
  schema: NatsSchema,
  label: (cfg) => `${serversOf(cfg).map(labelOf).join(',')}${cfg.stream === undefined ? '' : `#${cfg.stream}`}`,
  connectionKey: (cfg) => JSON.stringify([serversOf(cfg), cfg.token ?? null, cfg.user ?? null, cfg.password ?? null, cfg.creds ?? null, cfg.nkey ?? null, cfg.ca ?? null, cfg.timeout, cfg.stream ?? null]),
  connect: (cfg) => new NatsBrokerConnection(cfg, serversOf(cfg).map(labelOf).join(',')),
  issues: (cfg, path) => [...serverIssues(cfg, path), ...authIssues(cfg, path)],
};
