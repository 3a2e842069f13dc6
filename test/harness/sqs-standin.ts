/**
 * A stand-in for Amazon SQS (a cloud service, so a test double), driven by the real AWS SDK in the
 * gateway. It speaks the AWS JSON 1.0 protocol the SDK's SQS client uses (POST /, `X-Amz-Target:
 * AmazonSQS.<Operation>`, `application/x-amz-json-1.0`), verifies each request's SigV4 signature with
 * Gatehouse's own inbound verifier (aws-standin.ts) against the keys it was given, answers errors as
 * SQS does (`__type` and the `x-amzn-query-error` header the SDK maps to its error classes), keeps
 * FIFO MessageDeduplicationIds for 5 minutes, and lets the test read what it stored. GetQueueUrl and
 * SendMessage only; queues exist when the test creates them.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, listen, readAll, startSigV4Verifier, type SigV4Verifier } from './aws-standin.js';

const ACCOUNT = '123456789012';
const DEDUP_MS = 5 * 60_000;
const NOT_SQS_TEXT = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

export interface StoredAttribute { readonly DataType: string; readonly StringValue?: string; readonly BinaryValue?: string }

export interface StoredMessage {
  readonly messageId: string;
  readonly sequenceNumber?: string | undefined;
  readonly body: string;
  readonly attributes: Record<string, StoredAttribute>;
  readonly groupId?: string | undefined;
  readonly dedupId?: string | undefined;
  /** Who signed the SendMessage (the verifier's principal). */
  readonly signedBy: string;
}

export interface SqsCall { readonly target: string; readonly status: number; readonly error?: string | undefined }

export interface SqsStandIn {
  /** The endpoint (`endpoint` of the gateway's config). */
  readonly url: string;
  readonly calls: SqsCall[];
  /** Make a queue; its URL. `maximumMessageSize` as the queue attribute (default 262144, the classic default). */
  createQueue(name: string, opts?: { maximumMessageSize?: number }): string;
  /** What the queue holds, oldest first. */
  messages(name: string): StoredMessage[];
  addKey: SigV4Verifier['addKey'];
  /** Answer SendMessage with this error (`throttled`: RequestThrottled 403; `internal`: 500), or this late, instead of normally. */
  fault: { error?: 'throttled' | 'internal'; delayMs?: number } | undefined;
  /** Stop answering (connections refused), and start again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

interface Queue {
  readonly name: string;
  readonly fifo: boolean;
  readonly maximumMessageSize: number;
  readonly stored: StoredMessage[];
  readonly dedup: Map<string, { at: number; messageId: string; sequenceNumber: string }>;
  sequence: bigint;
}

type Answer = [status: number, body: Record<string, unknown>, error?: { type: string; query: string }];

/** An SQS error: `__type` with the service's namespace, and the query-compatible code the SDK reads first. */
const fail = (status: number, type: string, query: string, message: string): Answer => [status, { __type: type, message }, { type, query: `${query};Sender` }];
const REFUSALS: Record<string, Answer> = {
  unknown_access_key: fail(403, 'com.amazon.coral.service#UnrecognizedClientException', 'InvalidClientTokenId', 'The security token included in the request is invalid.'),
  signature_invalid: fail(403, 'com.amazon.coral.service#InvalidSignatureException', 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.'),
};
const invalid = (message: string): Answer => fail(400, 'com.amazon.coral.service#InvalidParameterValueException', 'InvalidParameterValue', message);
const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');

/** Start the stand-in for `region` on a free port. */
export async function startSqsStandIn(region: string): Promise<SqsStandIn> {
  const verifier = await startSigV4Verifier('sqs', region);
  const queues = new Map<string, Queue>();
  const calls: SqsCall[] = [];
  const state = { fault: undefined as SqsStandIn['fault'] };
  let base = '';

  const queueOf = (url: unknown): Queue | undefined => {
    if (typeof url !== 'string' || !url.startsWith(`${base}/${ACCOUNT}/`)) return undefined;
    return queues.get(url.slice(`${base}/${ACCOUNT}/`.length));
  };
  const noQueue = (): Answer => fail(400, 'com.amazonaws.sqs#QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.');

  const sendMessage = (input: Record<string, unknown>, signedBy: string): Answer => {
    const queue = queueOf(input.QueueUrl);
    if (queue === undefined) return noQueue();
    const body = input.MessageBody;
    if (typeof body !== 'string' || body === '') return fail(400, 'com.amazon.coral.service#MissingParameter', 'MissingParameter', 'The request must contain the parameter MessageBody.');
    if (NOT_SQS_TEXT.test(body)) return fail(400, 'com.amazonaws.sqs#InvalidMessageContents', 'InvalidMessageContents', 'Invalid characters found.');
    const attributes = (input.MessageAttributes ?? {}) as Record<string, StoredAttribute>;
    const names = Object.keys(attributes);
    if (names.length > 10) return invalid(`Number of message attributes [${names.length}] exceeds the allowed maximum [10].`);
    let size = Buffer.byteLength(body);
    for (const name of names) {
      const a = attributes[name]!;
      if (!/^[A-Za-z0-9_.-]{1,256}$/.test(name) || /^(aws\.|amazon\.)/i.test(name)) return invalid(`Message attribute name '${name}' is invalid.`);
      if (!/^(String|Number|Binary)(\..+)?$/.test(a.DataType) || (a.StringValue === undefined) === (a.BinaryValue === undefined) || a.StringValue === '') return invalid(`Message attribute '${name}' is invalid.`);
      size += Buffer.byteLength(name) + Buffer.byteLength(a.DataType) + (a.StringValue !== undefined ? Buffer.byteLength(a.StringValue) : Buffer.from(a.BinaryValue!, 'base64').length);
    }
    if (size > queue.maximumMessageSize) return invalid(`One or more parameters are invalid. Reason: Message must be shorter than ${queue.maximumMessageSize} bytes.`);
    const groupId = input.MessageGroupId as string | undefined;
    const dedupId = input.MessageDeduplicationId as string | undefined;
    const answer = { MD5OfMessageBody: md5(body) };
    if (!queue.fifo) {
      if (dedupId !== undefined) return invalid('The request include parameter that is not valid for this queue type');
      const messageId = randomUUID();
      queue.stored.push({ messageId, body, attributes, groupId, signedBy });
      return [200, { ...answer, MessageId: messageId }];
    }
    if (groupId === undefined) return fail(400, 'com.amazon.coral.service#MissingParameter', 'MissingParameter', 'The request must contain the parameter MessageGroupId.');
    if (dedupId === undefined) return invalid('The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly');
    const now = Date.now();
    const seen = queue.dedup.get(dedupId);
    // Within the window a repeated id is acknowledged and not stored again (as SQS documents), here with
    // the first message's MessageId; the gateway says `duplicate` only when the ids match, so an answer
    // with a fresh MessageId would make it say `false`, never a wrong `true`.
    if (seen !== undefined && now - seen.at < DEDUP_MS) return [200, { ...answer, MessageId: seen.messageId, SequenceNumber: seen.sequenceNumber }];
    const messageId = randomUUID();
    const sequenceNumber = String((queue.sequence += 1n));
    queue.dedup.set(dedupId, { at: now, messageId, sequenceNumber });
    queue.stored.push({ messageId, sequenceNumber, body, attributes, groupId, dedupId, signedBy });
    return [200, { ...answer, MessageId: messageId, SequenceNumber: sequenceNumber }];
  };

  const handle = async (req: IncomingMessage, bytes: () => Promise<Buffer>): Promise<[string, Answer]> => {
    const target = String(req.headers['x-amz-target'] ?? '');
    if (req.method !== 'POST' || req.headers['content-type'] !== 'application/x-amz-json-1.0' || !target.startsWith('AmazonSQS.')) {
      return [target, fail(400, 'com.amazon.coral.service#UnknownOperationException', 'UnknownOperation', 'not an AWS JSON 1.0 SQS request')];
    }
    const verdict = await verifier.verify(req, bytes);
    if ('refused' in verdict) return [target, REFUSALS[verdict.refused] ?? fail(403, 'com.amazon.coral.service#IncompleteSignatureException', 'IncompleteSignature', verdict.refused)];
    const input = JSON.parse((await bytes()).toString('utf8')) as Record<string, unknown>;
    switch (target) {
      case 'AmazonSQS.GetQueueUrl': {
        const queue = queues.get(String(input.QueueName));
        return [target, queue === undefined ? noQueue() : [200, { QueueUrl: `${base}/${ACCOUNT}/${queue.name}` }]];
      }
      case 'AmazonSQS.SendMessage': {
        const fault = state.fault;
        if (fault?.delayMs !== undefined) await new Promise((r) => setTimeout(r, fault.delayMs));
        if (fault?.error === 'throttled') return [target, fail(403, 'com.amazonaws.sqs#RequestThrottled', 'RequestThrottled', 'Rate exceeded')];
        if (fault?.error === 'internal') return [target, [500, { __type: 'com.amazon.coral.service#InternalFailure', message: 'internal failure' }, { type: 'InternalFailure', query: 'InternalFailure;Receiver' }]];
        return [target, sendMessage(input, verdict.principal)];
      }
      default: return [target, fail(400, 'com.amazon.coral.service#InvalidAction', 'InvalidAction', `${target} is not served by this stand-in`)];
    }
  };

  const server = createServer((req, res: ServerResponse) => {
    let body: Promise<Buffer> | undefined;
    const bytes = (): Promise<Buffer> => (body ??= readAll(req));
    void handle(req, bytes).then(async ([target, [status, json, error]]) => {
      await bytes();
      calls.push({ target, status, error: error?.query.split(';')[0] });
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID(),
        ...(error !== undefined ? { 'x-amzn-query-error': error.query } : {}),
      }).end(JSON.stringify(json));
    });
  });
  base = await listen(server);
  const port = (server.address() as AddressInfo).port;
  return {
    url: base, calls,
    createQueue(name, opts = {}) {
      queues.set(name, { name, fifo: name.endsWith('.fifo'), maximumMessageSize: opts.maximumMessageSize ?? 262_144, stored: [], dedup: new Map(), sequence: 10_000_000_000_000_000_000n });
      return `${base}/${ACCOUNT}/${name}`;
    },
    messages: (name) => queues.get(name)?.stored ?? [],
    addKey: (id, key) => verifier.addKey(id, key),
    get fault() { return state.fault; },
    set fault(v) { state.fault = v; },
    stop: () => closeServer(server),
    start: async () => { await listen(server, port); },
    async close() {
      verifier.close();
      if (server.listening) await closeServer(server);
    },
  };
}
