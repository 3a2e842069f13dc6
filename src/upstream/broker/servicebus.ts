/**
 * Azure Service Bus (AMQP 1.0, `@azure/service-bus`): one `ServiceBusClient` per connection and one
 * `ServiceBusSender` per queue or topic, made on first use. `sendMessages` resolves once Service Bus
 * accepted the message (its disposition), which is the confirmation. Credentials: a connection string
 * (SAS key) or the namespace with an Entra credential. The message id is the gateway's, so duplicate
 * detection on the entity drops a retry; sessions and partitions can be keyed by the caller.
 * The SDKs are loaded when a Service Bus route is built: a config without one never pays for them.
 */
import { Type } from '@sinclair/typebox';
import type { ServiceBusClient, ServiceBusMessage, ServiceBusSender } from '@azure/service-bus';
import type { TokenCredential } from '@azure/identity';
import type { ConfigIssue } from '../../config/issue.js';
import { Strict } from '../../config/types.js';
import { parseDuration } from '../../config/units.js';
import { compileTemplate, templateProblem, type Template, type TemplateKind } from '../../outbound/credentials/sigv4/session.js';
import { PublishFailure, reportConnection, type BrokerConnection, type BrokerKind, type Confirmation, type OutgoingMessage, type PublishFailureCode } from './broker.js';
import { BrokerFields } from './schema.js';

const Id = (what: string) => Type.String({ pattern: '^[0-9A-Za-z-]{1,64}$', description: what });

const CredentialSchema = Type.Union([
  Strict({
    type: Type.Literal('default'),
    managedIdentityClientId: Type.Optional(Id('Client id of a user-assigned managed identity (default: `AZURE_CLIENT_ID`, else the system-assigned one).')),
    tenantId: Type.Optional(Id('Entra tenant (default: `AZURE_TENANT_ID`).')),
  }, 'DefaultAzureCredential: environment service principal, workload identity, managed identity, then developer logins.'),
  Strict({
    type: Type.Literal('workload-identity'),
    tenantId: Type.Optional(Id('Entra tenant (default: `AZURE_TENANT_ID`).')),
    clientId: Type.Optional(Id('The application\'s client id (default: `AZURE_CLIENT_ID`).')),
    tokenFilePath: Type.Optional(Type.String({ minLength: 1, description: 'The projected service account token (default: `AZURE_FEDERATED_TOKEN_FILE`).' })),
  }, 'WorkloadIdentityCredential: the Kubernetes service account token exchanged for an Entra token (AKS workload identity).'),
  Strict({
    type: Type.Literal('client-secret'),
    tenantId: Id('Entra tenant.'),
    clientId: Id('The application\'s client id.'),
    clientSecret: Type.String({ minLength: 1, secret: true, description: 'The application\'s client secret (a secret reference).' }),
    authorityHost: Type.Optional(Type.String({ pattern: '^https://', description: 'Entra authority for sovereign clouds (default: the public cloud).' })),
  }, 'ClientSecretCredential: an application (service principal) with a client secret.'),
], { description: 'The Entra credential used with `namespace`; the identity needs the *Azure Service Bus Data Sender* role on the entities.' });

const KEY_TEMPLATE = 'A fixed string or a template over the verified caller: `{subject}`, `{client_id}`, `{tenant}`, `{provider}`, `{claim:NAME}` (spaces and control characters become `-`, cut to 128).';

export const ServiceBusSchema = Strict({
  type: Type.Literal('servicebus', { description: 'An Azure Service Bus queue or topic (AMQP 1.0; confirmed when the service accepted the message).' }),
  connectionString: Type.Optional(Type.String({ minLength: 1, secret: true, description: 'A connection string with a SAS key, `Endpoint=sb://NAMESPACE.servicebus.windows.net/;SharedAccessKeyName=…;SharedAccessKey=…` (a secret reference: `${env:SERVICEBUS_CONNECTION_STRING}`). Give it, or `namespace` with `credential`.' })),
  namespace: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9]+(:[0-9]{1,5})?$', description: 'The fully qualified namespace, `NAMESPACE.servicebus.windows.net`, reached over AMQP with TLS (port 5671, or `:PORT`) with `credential`.' })),
  credential: Type.Optional(CredentialSchema),
  sessionId: Type.Optional(Type.String({ minLength: 1, description: `Session id of each message, for a session-enabled entity (ordered per session). ${KEY_TEMPLATE}` })),
  partitionKey: Type.Optional(Type.String({ minLength: 1, description: `Partition key of each message, for a partitioned entity. ${KEY_TEMPLATE} With \`sessionId\` it must be the same text.` })),
  ...BrokerFields,
}, 'Publish each request body as one message to Azure Service Bus (see docs/brokers.md).');

type ServiceBusConfig = typeof ServiceBusSchema.static;

/** Session ids and partition keys: any visible characters, at most 128 (Service Bus's limit). */
const ENTITY_KEY: TemplateKind = { what: 'a session id or partition key', outside: /[^\p{L}\p{M}\p{N}\p{P}\p{S}]/gu, phrase: 'visible characters (no spaces or control characters)', max: 128, min: 1 };

/** How long after an unreachable namespace the next publish tries again (publishes in between fail at once). */
const RETRY_AFTER_MS = 1000;
/** The CloudEvents AMQP binding's prefix of attributes in application-properties (binary mode). */
const CE = 'cloudEvents:';
const SDK_RETRY_DELAY_MS = 200;
/** The longest a drain waits for the SDK to close the connection. */
const CLOSE_WAIT_MS = 2000;

/**
 * Answers that no retry changes: the entity, the key or the message is wrong (Service Bus's codes),
 * or the Entra credential gets no token (@azure/identity's error names).
 */
const REFUSED = new Set(['MessagingEntityNotFound', 'MessagingEntityDisabled', 'UnauthorizedAccess', 'QuotaExceeded',
  'CredentialUnavailableError', 'AuthenticationError', 'AggregateAuthenticationError']);

/** Of the SDK's retries (an AggregateError), the last attempt. */
function lastAttempt(err: unknown): { code?: unknown; name?: unknown; message?: unknown } {
  const last: unknown = err instanceof AggregateError && err.errors.length > 0 ? err.errors[err.errors.length - 1] : err;
  return (last ?? {}) as { code?: unknown; name?: unknown; message?: unknown };
}

/** The failure code of an SDK error: the last attempt decides. */
export function failureCode(err: unknown): PublishFailureCode {
  const { code, name } = lastAttempt(err);
  if (name === 'AbortError' || code === 'ServiceTimeout') return 'broker_timeout';
  // Larger than the entity takes (256 KB on the Standard tier): the client must change it, not retry.
  if (code === 'MessageSizeExceeded') return 'message_unsendable';
  if (REFUSED.has(String(code)) || REFUSED.has(String(name))) return 'broker_refused';
  return 'broker_unavailable';
}

/** What the audit line says of an SDK error (its code and first line; the SDK's messages hold no key). */
function describe(err: unknown): string {
  const { code, name, message } = lastAttempt(err);
  const text = typeof message === 'string' ? message.split('\n')[0]!.slice(0, 200) : '';
  return `${typeof code === 'string' ? code : String(name ?? 'error')}${text === '' ? '' : `: ${text}`}`;
}

/** The endpoint host of a connection string, without its keys (`sb://ns.servicebus.windows.net`). */
function endpointOf(connectionString: string): string | undefined {
  return /(?:^|;)\s*Endpoint\s*=\s*sb:\/\/([^/;\s]+)/i.exec(connectionString)?.[1];
}

function labelOf(cfg: ServiceBusConfig): string {
  const host = cfg.connectionString !== undefined ? endpointOf(cfg.connectionString) : cfg.namespace;
  return host === undefined ? 'servicebus' : `sb://${host}`;
}

/** The SDK's retries, bounded so that both attempts and the pause fit in the route's timeout. */
function retryOptions(timeout: string): { maxRetries: number; retryDelayInMs: number; maxRetryDelayInMs: number; timeoutInMs: number } {
  const ms = parseDuration(timeout);
  return { maxRetries: 1, retryDelayInMs: SDK_RETRY_DELAY_MS, maxRetryDelayInMs: SDK_RETRY_DELAY_MS, timeoutInMs: Math.max(250, Math.floor((ms - SDK_RETRY_DELAY_MS) / 2)) };
}

async function credentialOf(cfg: NonNullable<ServiceBusConfig['credential']>): Promise<TokenCredential> {
  const identity = await import('@azure/identity');
  switch (cfg.type) {
    case 'default': return new identity.DefaultAzureCredential({ ...(cfg.tenantId !== undefined ? { tenantId: cfg.tenantId } : {}), ...(cfg.managedIdentityClientId !== undefined ? { managedIdentityClientId: cfg.managedIdentityClientId } : {}) });
    case 'workload-identity': return new identity.WorkloadIdentityCredential({ ...(cfg.tenantId !== undefined ? { tenantId: cfg.tenantId } : {}), ...(cfg.clientId !== undefined ? { clientId: cfg.clientId } : {}), ...(cfg.tokenFilePath !== undefined ? { tokenFilePath: cfg.tokenFilePath } : {}) });
    case 'client-secret': return new identity.ClientSecretCredential(cfg.tenantId, cfg.clientId, cfg.clientSecret, cfg.authorityHost !== undefined ? { authorityHost: cfg.authorityHost } : {});
  }
}

async function clientOf(cfg: ServiceBusConfig): Promise<ServiceBusClient> {
  const { ServiceBusClient: Client } = await import('@azure/service-bus');
  const options = { retryOptions: retryOptions(cfg.timeout) };
  if (cfg.connectionString !== undefined) return new Client(cfg.connectionString, options);
  return new Client(cfg.namespace!, await credentialOf(cfg.credential!), options);
}

/** The SDK counts a key's 128 in UTF-16 units; the template cut it to 128 characters. */
function fit(key: string | undefined): string | undefined {
  if (key === undefined || key.length <= ENTITY_KEY.max) return key;
  const chars = [...key];
  while (chars.join('').length > ENTITY_KEY.max) chars.pop();
  return chars.join('');
}

class ServiceBusConnection implements BrokerConnection<ServiceBusConfig> {
  readonly #client: Promise<ServiceBusClient>;
  readonly #senders = new Map<string, ServiceBusSender>();
  /** The routes' session id and partition key templates, compiled once each. */
  readonly #templates = new Map<string, Template>();
  #downUntil = -Infinity;
  #up = false;
  #closed = false;

  constructor(cfg: ServiceBusConfig, private readonly label: string) {
    // The SDK is loaded now, at config load, not by the first request; the client connects on first use.
    this.#client = clientOf(cfg);
    this.#client.catch(() => { /* the first publish reports it */ });
  }

  async #sender(destination: string): Promise<ServiceBusSender> {
    const client = await this.#client;
    let sender = this.#senders.get(destination);
    if (sender === undefined) this.#senders.set(destination, (sender = client.createSender(destination)));
    return sender;
  }

  /** The route's `sessionId` or `partitionKey` for this caller; a template without a value for them refuses the message. */
  #key(field: 'sessionId' | 'partitionKey', route: ServiceBusConfig, message: OutgoingMessage): string | undefined {
    const text = route[field];
    if (text === undefined) return undefined;
    let template = this.#templates.get(text);
    if (template === undefined) this.#templates.set(text, (template = compileTemplate(text, ENTITY_KEY)));
    const key = fit(template.name(message.identity));
    if (key === undefined) throw new PublishFailure('broker_refused', `the ${field} template has no value for this caller`);
    return key;
  }

  /** The message in the SDK's terms: CloudEvents attributes as `cloudEvents:` application properties. */
  #encode(message: OutgoingMessage, route: ServiceBusConfig): ServiceBusMessage {
    const applicationProperties: Record<string, string | Date> = {};
    for (const [name, value] of message.attributes) applicationProperties[CE + name] = name === 'time' ? message.time : value;
    const sessionId = this.#key('sessionId', route, message);
    const partitionKey = this.#key('partitionKey', route, message);
    const requestId = message.attributes.get('gatehouserequestid');
    const type = message.attributes.get('type');
    return {
      body: message.body, contentType: message.contentType, messageId: message.id, applicationProperties,
      ...(type !== undefined ? { subject: type } : {}),
      ...(requestId !== undefined ? { correlationId: requestId } : {}),
      ...(sessionId !== undefined ? { sessionId } : {}),
      ...(partitionKey !== undefined ? { partitionKey } : {}),
    };
  }

  async publish(destination: string, message: OutgoingMessage, signal: AbortSignal, route: ServiceBusConfig): Promise<Confirmation> {
    if (this.#closed) throw new PublishFailure('broker_unavailable', 'the gateway is shutting down');
    if (performance.now() < this.#downUntil) throw new PublishFailure('broker_unavailable', `${this.label} is unreachable (retrying)`);
    const encoded = this.#encode(message, route);
    try {
      const sender = await this.#sender(destination);
      await sender.sendMessages(encoded, { abortSignal: signal });
    } catch (err) {
      const code = failureCode(err);
      if (code === 'broker_unavailable' && !this.#closed) {
        this.#downUntil = performance.now() + RETRY_AFTER_MS;
        if (this.#up) reportConnection(this.label, 'down', err);
        this.#up = false;
      }
      throw new PublishFailure(code, `${this.label}/${destination}: ${describe(err)}`, { cause: err });
    }
    if (!this.#up) reportConnection(this.label, 'up');
    this.#up = true;
    // Service Bus drops a duplicate silently (duplicate detection): the gateway cannot tell it apart.
    return { brokerId: message.id };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#senders.clear();
    // Closing the client closes its senders. After a connection dropped while idle, the SDK may never
    // finish closing: the drain waits a bounded time.
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => { timer = setTimeout(resolve, CLOSE_WAIT_MS); timer.unref(); });
    await Promise.race([this.#client.then((c) => c.close()).catch(() => undefined), waited]);
    clearTimeout(timer);
  }
}

/** What is wrong with the connection settings: exactly one of a connection string or a namespace with a credential. */
function connectionIssues(cfg: ServiceBusConfig, path: string): ConfigIssue[] {
  const byString = cfg.connectionString !== undefined;
  const byNamespace = cfg.namespace !== undefined || cfg.credential !== undefined;
  if (byString && byNamespace) return [{ path: `${path}/${cfg.namespace !== undefined ? 'namespace' : 'credential'}`, message: 'give either `connectionString` or `namespace` with `credential`, not both' }];
  if (!byString && !byNamespace) return [{ path, message: 'give `connectionString` (a SAS key) or `namespace` with `credential` (Entra)' }];
  if (byNamespace && cfg.namespace === undefined) return [{ path: `${path}/namespace`, message: '`credential` needs `namespace` (NAMESPACE.servicebus.windows.net)' }];
  if (byNamespace && cfg.credential === undefined) return [{ path: `${path}/credential`, message: '`namespace` needs `credential` (`{ type: default }`, `workload-identity` or `client-secret`)' }];
  if (byString) {
    const s = cfg.connectionString!;
    const keyed = /(?:^|;)\s*SharedAccessKeyName\s*=[^;]+/i.test(s) && /(?:^|;)\s*SharedAccessKey\s*=[^;]+/i.test(s);
    const signed = /(?:^|;)\s*SharedAccessSignature\s*=[^;]+/i.test(s);
    // The value is not echoed: it holds the key.
    if (endpointOf(s) === undefined || !(keyed || signed)) return [{ path: `${path}/connectionString`, message: 'expected a connection string Endpoint=sb://NAMESPACE.servicebus.windows.net/;SharedAccessKeyName=…;SharedAccessKey=… (the value is not shown: it holds a key)' }];
  }
  return [];
}

export const SERVICEBUS: BrokerKind<typeof ServiceBusSchema> = {
  schema: ServiceBusSchema,
  label: labelOf,
  connectionKey: (cfg) => JSON.stringify([cfg.connectionString ?? null, cfg.namespace ?? null, cfg.credential ?? null, cfg.timeout]),
  connect: (cfg) => new ServiceBusConnection(cfg, labelOf(cfg)),
  issues(cfg, path) {
    const problems = connectionIssues(cfg, path);
    for (const field of ['sessionId', 'partitionKey'] as const) {
      const template = cfg[field];
      const problem = template === undefined ? undefined : templateProblem(template, ENTITY_KEY);
      if (problem !== undefined) problems.push({ path: `${path}/${field}`, message: problem });
    }
    if (cfg.sessionId !== undefined && cfg.partitionKey !== undefined && cfg.sessionId !== cfg.partitionKey) {
      problems.push({ path: `${path}/partitionKey`, message: 'Service Bus requires the partition key of a session message to be its session id: give the same text as `sessionId`, or leave it out' });
    }
    return problems;
  },
};
