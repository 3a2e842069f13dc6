/**
 * Amazon SQS (the AWS SDK's SQS client): one SendMessage per request, whose answer is the
 * confirmation. A destination is a queue URL or a queue name, resolved once by GetQueueUrl (never
 * created). FIFO queues de-duplicate by the message id for 5 minutes; standard queues do not (their
 * consumers de-duplicate by `ce-id`). The SDK retries once what it deems retryable, within the
 * route's timeout (its abort signal ends the call); after a network failure, publishes fail at once
 * for a second, as while a RabbitMQ connection is down.
 */
import { createHash } from 'node:crypto';
import { Agent } from 'node:https';
import type * as SqsModule from '@aws-sdk/client-sqs';
import { Type } from '@sinclair/typebox';
import { LRUCache } from 'lru-cache';
import { Strict } from '../../config/types.js';
import { parseDuration } from '../../config/units.js';
import type { ConfigIssue } from '../../config/issue.js';
import { endpointProblem } from '../../outbound/credentials/endpoint.js';
import { SigV4CredentialsSchema } from '../../outbound/credentials/sigv4/schema.js';
import { StsError } from '../../outbound/credentials/sigv4/sts.js';
import { PublishFailure, reportConnection, type BrokerConnection, type BrokerKind, type Confirmation, type OutgoingMessage } from './broker.js';
import { BrokerFields } from './schema.js';
import { sqsCredentialIssues, sqsCredentials, type SqsCredentials } from './sqs-credentials.js';
import { compileMapping, groupIdProblem, isFifo, sendInput, type SqsMapping } from './sqs-message.js';

export const SqsSchema = Strict({
  type: Type.Literal('sqs', { description: 'An Amazon SQS queue, standard or FIFO (SendMessage; its answer confirms).' }),
  region: Type.String({ pattern: '^[a-z0-9-]{1,32}$', description: 'Region of the queues, e.g. `eu-west-1`.' }),
  endpoint: Type.Optional(Type.String({ minLength: 1, description: 'SQS endpoint URL (https; http only to a loopback address), e.g. a VPC endpoint. Default: the regional endpoint `https://sqs.<region>.amazonaws.com`.' })),
  credentials: SigV4CredentialsSchema,
  messageGroupId: Type.String({
    minLength: 1, default: '{subject}',
    description: 'MessageGroupId of messages to a FIFO queue (`.fifo`): fixed, or made from the caller with `{subject}`, `{client_id}`, `{tenant}`, `{provider}`, `{claim:NAME}` (each value reduced to visible ASCII, cut to 128). Messages of one group are delivered in order.',
  }),
  bodyEncoding: Type.Union([Type.Literal('text'), Type.Literal('base64')], {
    default: 'text',
    description: '`text`: the body is the message body and must be UTF-8 text SQS carries (else 503 `broker_refused`); `base64`: every body of the route is sent base64-encoded (for binary media types).',
  }),
  ...BrokerFields,
}, 'Publish each request body as one message to Amazon SQS (see docs/brokers.md).');

type SqsConfig = typeof SqsSchema.static;
type SqsSdk = typeof SqsModule;

let sdkLoad: Promise<SqsSdk> | undefined;
const loadSdk = (): Promise<SqsSdk> => (sdkLoad ??= import('@aws-sdk/client-sqs'));

/** How long after a network failure the next publish tries again (publishes in between fail at once). */
const RETRY_AFTER_MS = 1000;
/** How long SQS remembers a FIFO MessageDeduplicationId. */
const DEDUP_WINDOW_MS = 5 * 60_000;
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,75}(\.fifo)?$|^[A-Za-z0-9_-]{1,80}$/;
const URL_LIKE = /^https?:\/\//i;
/** Media types whose bodies are text (anything else needs `bodyEncoding: base64`). */
const TEXTUAL = /^(text\/[^/]+|application\/(json|xml|x-www-form-urlencoded|x-ndjson|yaml)|application\/[^/]+\+(json|xml))$/;
/** SQS errors that mean "not now" rather than "no": retry later. */
const THROTTLED = new Set(['RequestThrottled', 'ThrottlingException', 'Throttling', 'KmsThrottled', 'ServiceUnavailable', 'InternalError']);

type SdkError = Error & { code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: { throttling?: boolean } };

const timedOut = (err: SdkError): boolean => err.name === 'AbortError' || err.name === 'TimeoutError';

/** SQS was not reached at all (refused, reset, DNS): no HTTP answer, no abort. */
function unreachable(err: unknown): boolean {
  if (!(err instanceof Error) || err instanceof PublishFailure || err instanceof StsError) return false;
  return !timedOut(err) && (err as SdkError).$metadata?.httpStatusCode === undefined;
}

/** A failed SDK call as a PublishFailure; `doing` says what for (the audit line: error names and statuses, never a message text). */
function failureOf(err: unknown, label: string, doing: string): PublishFailure {
  if (err instanceof PublishFailure) return err;
  if (err instanceof StsError) return new PublishFailure('broker_unavailable', `${label}: no credentials to sign with (${err.reason})`, { cause: err });
  const e = err as SdkError;
  const name = e.name ?? 'Error';
  if (timedOut(e)) return new PublishFailure('broker_timeout', `${label}: ${doing} did not finish in time`, { cause: err });
  const status = e.$metadata?.httpStatusCode;
  if (status === undefined) return new PublishFailure('broker_unavailable', `cannot reach ${label} (${e.code ?? name})`, { cause: err });
  const why = `${name} (HTTP ${status})`;
  if (status >= 500 || THROTTLED.has(name) || e.$retryable?.throttling === true) return new PublishFailure('broker_unavailable', `${label}: ${doing}: ${why}`, { cause: err });
  return new PublishFailure('broker_refused', `${label} refused ${doing}: ${why}`, { cause: err });
}

class SqsConnection implements BrokerConnection {
  #client: Promise<{ client: SqsModule.SQSClient; sdk: SqsSdk }> | undefined;
  readonly #credentials: SqsCredentials;
  readonly #mapping: SqsMapping;
  /** Queue name → its URL (GetQueueUrl once per name; a failure is not kept). */
  readonly #urls = new Map<string, Promise<string>>();
  /** FIFO queue and message id → the MessageId SQS gave it: the same answer again within the window is a duplicate. */
  readonly #sent = new LRUCache<string, string>({ max: 10_000, ttl: DEDUP_WINDOW_MS });
  #failedAt = -Infinity;
  #up = false;
  #closed = false;

  constructor(private readonly cfg: SqsConfig, private readonly label: string) {
    this.#credentials = sqsCredentials(cfg.credentials, cfg.region);
    this.#mapping = compileMapping(cfg.bodyEncoding, cfg.messageGroupId);
  }

  #open(): Promise<{ client: SqsModule.SQSClient; sdk: SqsSdk }> {
    if (this.#client !== undefined) return this.#client;
    const opening = (async () => {
      const [sdk] = await Promise.all([loadSdk(), this.#credentials.start()]);
      const timeoutMs = parseDuration(this.cfg.timeout);
      const client = new sdk.SQSClient({
        region: this.cfg.region,
        ...(this.cfg.endpoint !== undefined ? { endpoint: this.cfg.endpoint } : {}),
        credentials: this.#credentials.provide,
        // One retry of what the SDK deems retryable; the route's timeout aborts the whole call.
        maxAttempts: 2,
        // Requests go to the configured endpoint (or the region's), never to the host a queue URL names.
        useQueueUrlAsEndpoint: false,
        requestHandler: { requestTimeout: timeoutMs, connectionTimeout: timeoutMs, httpsAgent: new Agent({ keepAlive: true }) },
      });
      return { client, sdk };
    })();
    this.#client = opening;
    opening.catch(() => { if (this.#client === opening) this.#client = undefined; });
    return opening;
  }

  /** The queue's URL. Concurrent publishes share one GetQueueUrl, so no one caller's signal aborts it (the SDK's timeouts bound it). */
  async #queueUrl(destination: string): Promise<string> {
    if (URL_LIKE.test(destination)) return destination;
    let url = this.#urls.get(destination);
    if (url === undefined) {
      url = (async () => {
        const { client, sdk } = await this.#open();
        const out = await client.send(new sdk.GetQueueUrlCommand({ QueueName: destination }));
        if (out.QueueUrl === undefined) throw new PublishFailure('broker_refused', `${this.label} gave no URL for queue "${destination}"`);
        return out.QueueUrl;
      })();
      this.#urls.set(destination, url);
      url.catch(() => this.#urls.delete(destination));
    }
    return url;
  }

  #healthy(): void {
    if (!this.#up) reportConnection(this.label, 'up');
    this.#up = true;
  }

  /** The failure of `doing`; when SQS was unreachable, publishes fail at once for a while. */
  #failed(err: unknown, doing: string): PublishFailure {
    if (unreachable(err)) {
      this.#failedAt = performance.now();
      if (!this.#closed) reportConnection(this.label, 'down', err);
      this.#up = false;
    }
    return failureOf(err, this.label, doing);
  }

  async publish(destination: string, message: OutgoingMessage, signal: AbortSignal): Promise<Confirmation> {
    if (this.#closed) throw new PublishFailure('broker_unavailable', 'the gateway is shutting down');
    if (performance.now() - this.#failedAt < RETRY_AFTER_MS) throw new PublishFailure('broker_unavailable', `${this.label} is unreachable (retrying)`);
    let queueUrl: string;
    try {
      queueUrl = await this.#queueUrl(destination);
    } catch (err) {
      throw this.#failed(err, `GetQueueUrl of "${destination}"`);
    }
    const input = sendInput(this.#mapping, queueUrl, message);
    if ('problem' in input) throw new PublishFailure(input.unsendable ? 'message_unsendable' : 'broker_refused', `not sent to ${this.label}: ${input.problem}`);
    let out: SqsModule.SendMessageCommandOutput;
    try {
      const { client, sdk } = await this.#open();
      out = await client.send(new sdk.SendMessageCommand(input), { abortSignal: signal });
    } catch (err) {
      throw this.#failed(err, `the message to "${destination}"`);
    }
    this.#healthy();
    if (out.MessageId === undefined) throw new PublishFailure('broker_unavailable', `${this.label} answered without a MessageId`);
    const fifo = isFifo(queueUrl);
    const sentKey = `${queueUrl}\0${message.id}`;
    const earlier = fifo ? this.#sent.get(sentKey) : undefined;
    if (fifo) this.#sent.set(sentKey, out.MessageId);
    return {
      brokerId: out.SequenceNumber === undefined ? out.MessageId : `${out.MessageId}#${out.SequenceNumber}`,
      ...(earlier === out.MessageId ? { duplicate: true } : {}),
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    const opening = this.#client;
    this.#client = undefined;
    this.#credentials.close();
    if (opening !== undefined) (await opening.catch(() => undefined))?.client.destroy();
  }
}

/** Where messages go, without credentials. */
function labelOf(cfg: SqsConfig): string {
  if (cfg.endpoint === undefined) return `https://sqs.${cfg.region}.amazonaws.com`;
  try {
    return new URL(cfg.endpoint).origin;
  } catch {
    return 'sqs';
  }
}

/** Why a destination is not a queue name or URL. */
function destinationProblem(name: string): string | undefined {
  if (URL_LIKE.test(name)) return endpointProblem(name, 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders', 'messages go there');
  return QUEUE_NAME.test(name) ? undefined : 'expected a queue name (1 to 80 letters, digits, - and _, ending in .fifo for a FIFO queue) or a queue URL';
}

function sqsIssues(cfg: SqsConfig, path: string): ConfigIssue[] {
  const issues: ConfigIssue[] = sqsCredentialIssues(cfg.credentials, `${path}/credentials`);
  if (cfg.endpoint !== undefined) {
    const problem = endpointProblem(cfg.endpoint, 'https://sqs.eu-west-1.amazonaws.com', 'the gateway sends signed requests there');
    if (problem !== undefined) issues.push({ path: `${path}/endpoint`, message: problem });
  }
  const names = typeof cfg.destination === 'string' ? [[cfg.destination, `${path}/destination`]] : cfg.destination.allow.map((n, i) => [n, `${path}/destination/allow/${i}`]);
  for (const [name, at] of names) {
    const problem = destinationProblem(name!);
    if (problem !== undefined) issues.push({ path: at!, message: problem });
  }
  const group = groupIdProblem(cfg.messageGroupId);
  if (group !== undefined) issues.push({ path: `${path}/messageGroupId`, message: group });
  if (cfg.bodyEncoding === 'text') {
    cfg.contentTypes.forEach((t, i) => {
      if (!TEXTUAL.test(t)) issues.push({ path: `${path}/contentTypes/${i}`, message: `${t} bodies need not be text, and SQS bodies are: set \`bodyEncoding: base64\`, or accept only text media types` });
    });
  }
  return issues;
}

export const SQS: BrokerKind<typeof SqsSchema> = {
  schema: SqsSchema,
  label: labelOf,
  // Secrets enter the key only hashed; the mapping is per connection, so routes differing in it do not share one.
  connectionKey: (cfg) => JSON.stringify([cfg.region, cfg.endpoint ?? null, cfg.timeout, cfg.messageGroupId, cfg.bodyEncoding,
    createHash('sha256').update(JSON.stringify(cfg.credentials)).digest('base64url')]),
  connect: (cfg) => new SqsConnection(cfg, labelOf(cfg)),
  issues: sqsIssues,
};
