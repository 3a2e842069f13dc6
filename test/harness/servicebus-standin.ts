/**
 * A local stand-in for an Azure Service Bus namespace, for tests driven by the real
 * `@azure/service-bus` SDK: an AMQP 1.0 endpoint (rhea, plain TCP as for the SDK's
 * `UseDevelopmentEmulator=true`) that does what the SDK needs to send.
 *
 * - Claims-based security: the `$cbs` node answers `put-token` requests. A SAS token
 *   (`SharedAccessSignature sr=…&sig=…&se=…&skn=…`) is checked like Service Bus does: the key name,
 *   the expiry, and the HMAC-SHA256 of `sr\nse` under the shared key; a wrong one is status 401.
 * - Entities: a sending link to a queue or topic it knows is attached once a token for that
 *   entity was accepted on the connection; an unknown entity is refused with `amqp:not-found`
 *   (the SDK's `MessagingEntityNotFound`), one without a token with `amqp:unauthorized-access`.
 * - Deliveries are settled as accepted and stored, for the test to read with `messages(entity)`; one
 *   over `maxMessageSize` is rejected with `amqp:link:message-size-exceeded`, as Service Bus does.
 * - With `tls`, it listens with TLS as Service Bus does, for clients with an Entra credential
 *   (`namespace: localhost:PORT`); their `put-token` of type `jwt` must carry a token of `entraTokens`.
 * - `stop()` drops every connection and stops listening; `restart()` listens on the same port again.
 *
 * Not a broker: no receiving, no sessions or duplicate detection of its own.
 *
 *   const sb = await startServiceBusStandIn({ queues: ['orders'], topics: ['invoices'] });
 *   process.env.SERVICEBUS_CONNECTION_STRING = sb.connectionString;   // for `${env:…}` in a config
 *   … publish through the gateway …
 *   sb.messages('orders');   // [{ body, contentType, messageId, sessionId, applicationProperties, … }]
 *   await sb.stop();
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo, Server, Socket } from 'node:net';
import rhea, { type Connection, type EventContext, type Message } from 'rhea';

export interface StandInOptions {
  readonly queues?: readonly string[];
  readonly topics?: readonly string[];
  /** The SAS policy name; default `RootManageSharedAccessKey`. */
  readonly keyName?: string;
  /** The SAS key; default a random one made now. */
  readonly key?: string;
  /** Listen with TLS (as Service Bus does, port 5671) instead of plain AMQP: for clients with an Entra credential. */
  readonly tls?: { readonly certPem: string; readonly keyPem: string };
  /** The Entra access tokens (`put-token` of type `jwt`) the namespace accepts, e.g. a managed identity stand-in's. */
  readonly entraTokens?: () => readonly string[];
  /** The largest message an entity takes (told to senders on attach; a larger one is rejected); default 256 KB, the Standard tier's. */
  readonly maxMessageSize?: number;
}

/** A message as Service Bus stored it, in the SDK's terms. */
export interface StoredMessage {
  readonly body: Buffer;
  readonly contentType: string | undefined;
  readonly messageId: string | undefined;
  readonly correlationId: string | undefined;
  readonly subject: string | undefined;
  readonly sessionId: string | undefined;
  readonly partitionKey: string | undefined;
  readonly applicationProperties: Record<string, unknown>;
}

export interface ServiceBusStandIn {
  /** `Endpoint=sb://127.0.0.1:PORT/;SharedAccessKeyName=…;SharedAccessKey=…;UseDevelopmentEmulator=true`. */
  readonly connectionString: string;
  /** `localhost:PORT`: the namespace for a client with an Entra credential (with `tls`). */
  readonly namespace: string;
  readonly port: number;
  readonly keyName: string;
  readonly key: string;
  /** The same namespace with another key (to try a wrong one). */
  connectionStringWith(key: string): string;
  /** Messages stored in `entity` so far, oldest first. */
  messages(entity: string): StoredMessage[];
  /** Tokens refused so far (wrong key, name or expiry; an Entra token it does not know). */
  readonly refusedTokens: number;
  /** Token types accepted so far (`servicebus.windows.net:sastoken`, `jwt`). */
  readonly acceptedTokenTypes: readonly string[];
  /** AMQP connections opened by clients so far. */
  readonly connections: number;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

const CBS = '$cbs';

/** Whether a SAS token is signed with `key` under `keyName` for `audience`, and not expired. */
function sasValid(token: unknown, audience: string, keyName: string, key: string): boolean {
  if (typeof token !== 'string' || !token.startsWith('SharedAccessSignature ')) return false;
  const fields = new URLSearchParams(token.slice('SharedAccessSignature '.length));
  const sr = fields.get('sr');
  const sig = fields.get('sig');
  const se = fields.get('se');
  if (sr === null || sig === null || se === null || fields.get('skn') !== keyName) return false;
  if (!/^\d+$/.test(se) || Number(se) * 1000 < Date.now()) return false;
  // The signature covers the URL-encoded resource as sent; the token may be for a parent of the entity.
  if (audience !== sr && !audience.startsWith(sr.endsWith('/') ? sr : `${sr}/`)) return false;
  const expected = createHmac('sha256', key).update(`${encodeURIComponent(sr)}\n${se}`).digest();
  const given = Buffer.from(sig, 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function bodyOf(message: Message): Buffer {
  const body = message.body as unknown;
  if (Buffer.isBuffer(body)) return body;
  const content = (body as { content?: unknown } | undefined)?.content;
  if (Buffer.isBuffer(content)) return content;
  return Buffer.from(typeof body === 'string' ? body : JSON.stringify(body ?? null));
}

function stored(message: Message): StoredMessage {
  const annotations = (message.message_annotations ?? {}) as Record<string, unknown>;
  const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));
  return {
    body: bodyOf(message),
    contentType: str(message.content_type),
    messageId: str(message.message_id),
    correlationId: str(message.correlation_id),
    subject: str(message.subject),
    sessionId: str(message.group_id),
    partitionKey: str(annotations['x-opt-partition-key']),
    applicationProperties: { ...(message.application_properties ?? {}) },
  };
}

/** Start a stand-in namespace on 127.0.0.1, on a free port. */
export async function startServiceBusStandIn(options: StandInOptions = {}): Promise<ServiceBusStandIn> {
  const keyName = options.keyName ?? 'RootManageSharedAccessKey';
  const key = options.key ?? randomBytes(32).toString('base64');
  const entities = new Set([...(options.queues ?? []), ...(options.topics ?? [])]);
  const store = new Map<string, StoredMessage[]>([...entities].map((e) => [e, []]));
  /** Audiences a connection holds an accepted token for. */
  const claims = new WeakMap<Connection, Set<string>>();
  let refused = 0;
  const maxMessageSize = options.maxMessageSize ?? 256 * 1024;
  let opened = 0;
  const acceptedTypes: string[] = [];
  const host = options.tls === undefined ? '127.0.0.1' : 'localhost';
  let port = 0;
  let endpoint = '';
  let server: Server | undefined;
  const sockets = new Set<Socket>();

  const container = rhea.create_container({ id: 'servicebus-standin' });
  container.sasl_server_mechanisms.enable_anonymous();

  container.on('connection_open', () => { opened++; });
  container.on('receiver_open', (ctx: EventContext) => {
    const receiver = ctx.receiver!;
    const address = receiver.target?.address ?? '';
    if (address === CBS) { receiver.open(); return; }
    if (!entities.has(address)) {
      receiver.close({ condition: 'amqp:not-found', description: `The messaging entity '${endpoint}${address}' could not be found.` });
      return;
    }
    if (!(claims.get(ctx.connection)?.has(`${endpoint}${address}`) ?? false)) {
      receiver.close({ condition: 'amqp:unauthorized-access', description: 'Unauthorized access: no valid token for this entity.' });
      return;
    }
    receiver.set_target({ address });
    (receiver as unknown as { local: { attach: { max_message_size: number } } }).local.attach.max_message_size = maxMessageSize;
    receiver.open();
  });
  container.on('sender_open', (ctx: EventContext) => {
    // The reply link of the $cbs request/response pair (the SDK names it after its reply-to address).
    ctx.sender!.set_source({ address: ctx.sender!.source?.address ?? CBS });
    ctx.sender!.open();
  });
  container.on('message', (ctx: EventContext) => {
    const message = ctx.message!;
    const address = ctx.receiver!.target?.address ?? '';
    if (address !== CBS) {
      const m = stored(message);
      // As Service Bus does with a message over the entity's limit: rejected, not stored.
      if (m.body.length > maxMessageSize) {
        ctx.delivery!.reject({ condition: 'amqp:link:message-size-exceeded', description: `The message of ${m.body.length} bytes exceeds the limit of ${maxMessageSize} bytes.` });
        return;
      }
      store.get(address)?.push(m);
      return; // rhea settles it as accepted (autoaccept)
    }
    const props = (message.application_properties ?? {}) as Record<string, unknown>;
    const audience = String(props.name ?? '');
    const entra = props.type === 'jwt' && typeof message.body === 'string' && (options.entraTokens?.() ?? []).includes(message.body);
    const ok = props.operation === 'put-token' && (entra || sasValid(message.body, audience, keyName, key));
    if (ok) {
      acceptedTypes.push(String(props.type));
      let held = claims.get(ctx.connection);
      if (held === undefined) claims.set(ctx.connection, (held = new Set()));
      held.add(audience.endsWith('/') ? audience.slice(0, -1) : audience);
    } else {
      refused++;
    }
    const reply = ctx.connection.find_sender((s: { name: string }) => s.name === message.reply_to);
    reply?.send({
      body: null,
      correlation_id: message.message_id,
      application_properties: { 'status-code': ok ? 202 : 401, 'status-description': ok ? 'Accepted' : 'InvalidSignature: the token has an invalid signature.' },
    });
  });
  container.on('error', () => { /* a client that went away */ });
  container.on('disconnected', () => { /* likewise (rhea would print it) */ });

  async function listen(): Promise<void> {
    const s = (options.tls === undefined
      ? container.listen({ port, host: '127.0.0.1' })
      : container.listen({ port, host: '127.0.0.1', transport: 'tls', cert: options.tls.certPem, key: options.tls.keyPem })) as unknown as Server;
    const event = options.tls === undefined ? 'connection' : 'secureConnection';
    s.on(event, (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => { s.once('listening', resolve); s.once('error', reject); });
    server = s;
    port = (s.address() as AddressInfo).port;
    endpoint = `sb://${host}:${port}/`;
  }

  async function stop(): Promise<void> {
    const s = server;
    server = undefined;
    if (s === undefined) return;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    // With an error: rhea's server side listens for 'error' and 'end', not 'close', and would keep the connection's heartbeat.
    for (const socket of sockets) socket.destroy(new Error('the stand-in stopped'));
    sockets.clear();
    await closed;
  }

  await listen();
  const connectionStringWith = (k: string): string => `Endpoint=sb://127.0.0.1:${port}/;SharedAccessKeyName=${keyName};SharedAccessKey=${k};UseDevelopmentEmulator=true`;
  return {
    connectionString: connectionStringWith(key),
    namespace: `${host}:${port}`,
    port,
    keyName,
    key,
    connectionStringWith,
    messages: (entity) => [...(store.get(entity) ?? [])],
    get refusedTokens() { return refused; },
    acceptedTokenTypes: acceptedTypes,
    get connections() { return opened; },
    stop,
    async restart() {
      await stop();
      await listen();
    },
  };
}
