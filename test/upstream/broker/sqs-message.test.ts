// The SQS binding of a message (src/upstream/broker/sqs-message.ts): what SendMessage is given.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeIdentity, type Identity } from '../../../src/identity/identity.js';
import type { OutgoingMessage } from '../../../src/upstream/broker/broker.js';
import { compileMapping, MAX_MESSAGE_BYTES, sendInput } from '../../../src/upstream/broker/sqs-message.js';

const FIFO = 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo';
const STANDARD = 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders';
const caller = makeIdentity({ provider: 'okta', subject: 'ana lopez', tenant: 't-1', roles: [], groups: [], scopes: [], authMethod: 'jwt', claims: { shop: 'shop/42', n: 7 } });

function message(body: Buffer | string, opts: { identity?: Identity | null; extra?: [string, string][] } = {}): OutgoingMessage {
  const attributes = new Map<string, string>([
    ['specversion', '1.0'], ['id', 'm-1'], ['source', '/gatehouse/routes/orders'], ['type', 't'], ['authtype', 'user'], ['authid', 'ana'],
    ['authclaims', '{}'], ['traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'], ['gatehouseassertion', 'eyJ'],
    ['gatehouserequestid', 'r-1'], ['subject', 'orders'], ['time', '2026-12-03T09:00:00.000Z'], ...(opts.extra ?? []),
  ]);
  return { id: 'm-1', body: Buffer.from(body), contentType: 'application/json', time: new Date(), attributes, identity: opts.identity === null ? undefined : (opts.identity ?? caller) };
}

const problem = (out: ReturnType<typeof sendInput>): string => ('problem' in out ? out.problem : assert.fail(`expected a refusal, got ${JSON.stringify(out)}`));
const input = (out: ReturnType<typeof sendInput>) => ('problem' in out ? assert.fail(out.problem) : out);

describe('sqs message binding', () => {
  it('keeps content-type and the nine most important attributes; subject, time and specversion go first', () => {
    const out = input(sendInput(compileMapping('text', '{subject}'), STANDARD, message('{"a":1}')));
    assert.equal(out.MessageBody, '{"a":1}');
    assert.deepEqual(Object.keys(out.MessageAttributes!), ['content-type', 'ce-id', 'ce-source', 'ce-type', 'ce-authtype', 'ce-authid', 'ce-authclaims', 'ce-traceparent', 'ce-gatehouseassertion', 'ce-gatehouserequestid']);
    assert.equal(out.MessageGroupId, undefined, 'standard queue: no group');
    assert.equal(out.MessageDeduplicationId, undefined, 'standard queue: no broker de-duplication');
  });

  it('FIFO: the group id from the caller (reduced to visible ASCII), the message id as deduplication id', () => {
    assert.equal(input(sendInput(compileMapping('text', '{subject}'), FIFO, message('{}'))).MessageGroupId, 'ana-lopez');
    const claim = input(sendInput(compileMapping('text', '{tenant}:{claim:shop}'), FIFO, message('{}')));
    assert.equal(claim.MessageGroupId, 't-1:shop/42');
    assert.equal(claim.MessageDeduplicationId, 'm-1');
    assert.equal(input(sendInput(compileMapping('text', 'all-orders'), FIFO, message('{}', { identity: null }))).MessageGroupId, 'all-orders');
    assert.match(problem(sendInput(compileMapping('text', '{subject}'), FIFO, message('{}', { identity: null }))), /group id needs a value/);
    assert.match(problem(sendInput(compileMapping('text', '{claim:missing}'), FIFO, message('{}'))), /group id needs a value/);
  });

  it('text bodies: not UTF-8, control characters and empty bodies are refused; base64 carries any bytes', () => {
    const text = compileMapping('text', '{subject}');
    assert.match(problem(sendInput(text, STANDARD, message(Buffer.from([0xc3, 0x28])))), /not UTF-8/);
    assert.match(problem(sendInput(text, STANDARD, message('a\u0000b'))), /characters SQS does not carry/);
    assert.match(problem(sendInput(text, STANDARD, message(''))), /empty/);
    assert.equal(input(sendInput(text, STANDARD, message('héllo ✓ 𝄞'))).MessageBody, 'héllo ✓ 𝄞');
    const bytes = Buffer.from([0, 0xff, 0x80, 1]);
    assert.equal(input(sendInput(compileMapping('base64', '{subject}'), STANDARD, message(bytes))).MessageBody, bytes.toString('base64'));
  });

  it('a message over SQS\'s largest size is refused before sending, attributes counted', () => {
    const fits = 'x'.repeat(MAX_MESSAGE_BYTES - 2000);
    input(sendInput(compileMapping('text', '{subject}'), STANDARD, message(fits)));
    assert.match(problem(sendInput(compileMapping('text', '{subject}'), STANDARD, message(fits, { extra: [['authclaims', 'y'.repeat(3000)]] }))), /bytes with its attributes/);
  });
});
