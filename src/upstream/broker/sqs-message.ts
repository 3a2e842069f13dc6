/**
 * A message as SQS's SendMessage input. SQS bodies are text (XML 1.0 characters), so a body is
 * sent as UTF-8 text and refused when it is not such text, or base64-encoded on a route that says
 * so (`bodyEncoding: base64`, for binary media types). SQS carries at most 10 message attributes:
 * `content-type` and nine `ce-` attributes, in the broker interface's order of importance but for
 * `subject`, `time` and `specversion`, which go last (a consumer has them from SQS itself: the queue,
 * the SentTimestamp, and CloudEvents 1.0). FIFO queues get the message id as MessageDeduplicationId
 * and a MessageGroupId made from the caller by the route's template.
 */
import { isUtf8 } from 'node:buffer';
import type { MessageAttributeValue, SendMessageCommandInput } from '@aws-sdk/client-sqs';
import { compileTemplate, templateProblem, type Template, type TemplateKind } from '../../outbound/credentials/sigv4/session.js';
import type { OutgoingMessage } from './broker.js';

/** SQS's limit on message attributes per message. */
export const MAX_ATTRIBUTES = 10;
/** SQS's largest message (body plus attribute names, types and values), whatever a queue's MaximumMessageSize. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
/** Attributes a consumer can do without, dropped first (in this order, last first) when ten are not enough. */
const LAST = ['subject', 'time', 'specversion'];
const CE = 'ce-';
const STRING = 'String';
/** Characters outside what SQS takes in a body or a String attribute. */
const NOT_SQS_TEXT = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** MessageGroupId: visible ASCII, at most 128 characters. */
export const GROUP_ID: TemplateKind = { what: 'a message group id', outside: /[^\x21-\x7e]/g, phrase: 'visible ASCII characters', max: 128, min: 1 };

export type BodyEncoding = 'text' | 'base64';

/** How messages of one route become SendMessage inputs (built at load). */
export interface SqsMapping {
  readonly encoding: BodyEncoding;
  readonly group: Template;
}

export function compileMapping(encoding: BodyEncoding, groupTemplate: string): SqsMapping {
  return { encoding, group: compileTemplate(groupTemplate, GROUP_ID) };
}

/** Why a MessageGroupId template is unusable (config check). */
export const groupIdProblem = (template: string): string | undefined => templateProblem(template, GROUP_ID);

/** A queue name or URL names a FIFO queue when it ends with `.fifo`. */
export const isFifo = (queue: string): boolean => queue.endsWith('.fifo');

/** The attributes that travel: `content-type` first, then the nine most important. */
export function attributesOf(message: OutgoingMessage): Record<string, MessageAttributeValue> {
  const entries = [...message.attributes].filter(([, v]) => v !== '');
  const ordered = [...entries.filter(([k]) => !LAST.includes(k)), ...LAST.flatMap((k) => entries.filter(([n]) => n === k))];
  const out: Record<string, MessageAttributeValue> = { 'content-type': { DataType: STRING, StringValue: message.contentType } };
  for (const [name, value] of ordered.slice(0, MAX_ATTRIBUTES - 1)) out[CE + name] = { DataType: STRING, StringValue: value };
  return out;
}

/** The body as SQS text, or why it cannot be. */
function bodyText(body: Buffer, encoding: BodyEncoding): string | { problem: string; unsendable: true } {
  if (body.length === 0) return { problem: 'the body is empty (SQS takes no empty message)', unsendable: true };
  if (encoding === 'base64') return body.toString('base64');
  if (!isUtf8(body)) return { problem: 'the body is not UTF-8 text (set `bodyEncoding: base64` for binary bodies)', unsendable: true };
  const text = body.toString('utf8');
  return NOT_SQS_TEXT.test(text) ? { problem: 'the body has characters SQS does not carry (control characters; set `bodyEncoding: base64`)', unsendable: true } : text;
}

/** What SQS counts against its size limit. */
function sizeOf(body: string, attributes: Record<string, MessageAttributeValue>): number {
  let size = Buffer.byteLength(body);
  for (const [name, v] of Object.entries(attributes)) size += Buffer.byteLength(name) + Buffer.byteLength(v.DataType ?? '') + Buffer.byteLength(v.StringValue ?? '');
  return size;
}

/** A message SQS would refuse: `unsendable` when it is the client's message (its body or size), not the route's setup. */
export interface SendProblem { readonly problem: string; readonly unsendable?: true }

/** The SendMessage input for `message` to the queue at `queueUrl`, or why SQS would refuse it. */
export function sendInput(mapping: SqsMapping, queueUrl: string, message: OutgoingMessage): SendMessageCommandInput | SendProblem {
  const body = bodyText(message.body, mapping.encoding);
  if (typeof body !== 'string') return body;
  const attributes = attributesOf(message);
  for (const [name, v] of Object.entries(attributes)) {
    if (NOT_SQS_TEXT.test(v.StringValue ?? '')) return { problem: `attribute ${name} has characters SQS does not carry` };
  }
  const size = sizeOf(body, attributes);
  if (size > MAX_MESSAGE_BYTES) return { problem: `the message is ${size} bytes with its attributes; SQS takes at most ${MAX_MESSAGE_BYTES}`, unsendable: true };
  const input: SendMessageCommandInput = { QueueUrl: queueUrl, MessageBody: body, MessageAttributes: attributes };
  if (!isFifo(queueUrl)) return input;
  const group = mapping.group.name(message.identity);
  if (group === undefined) return { problem: 'the message group id needs a value the caller\'s identity does not have' };
  return { ...input, MessageGroupId: group, MessageDeduplicationId: message.id };
}
