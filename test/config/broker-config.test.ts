import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load.js';
import { issueAt, loadError } from './fixtures.js';

const route = (upstream: string): string => `routes:\n  - { name: orders, match: { path: /orders/:topic }, public: true, upstream: ${upstream} }\n`;

describe('broker upstream config', () => {
  it('a RabbitMQ route loads with its defaults', () => {
    const { config } = loadConfigText(route('{ type: rabbitmq, url: "${env:AMQP}", destination: { param: topic, allow: [a, b] } }'), '/etc/gatehouse/gatehouse.yaml', { AMQP: 'amqp://u:p@mq:5672' });
    const up = config.routes[0]!.upstream as Record<string, unknown>;
    assert.deepEqual([up.timeout, up.maxInFlight, up.idempotencyHeader, up.contentTypes, up.exchange, up.persistent], ['5s', 256, 'idempotency-key', ['application/json'], '', true]);
  });

  it('every problem at once: a bad URL, an empty allow-list, a schema that is not a JSON Schema, an unknown field', () => {
    const error = loadError(route('{ type: rabbitmq, url: "amqp://[bad", destination: { param: topic, allow: [] }, schema: { type: 12 }, exchnage: x }'));
    issueAt(error, '/routes/0/upstream/url', 'expected a URL such as amqp://');
    issueAt(error, '/routes/0/upstream/destination/allow', 'at least 1');
    issueAt(error, '/routes/0/upstream/exchnage', '');
  });

  it('a body schema that does not compile is refused at load with the reason', () => {
    const error = loadError(route('{ type: rabbitmq, url: "amqp://mq", destination: a, schema: { type: 12 } }'));
    issueAt(error, '/routes/0/upstream/schema', 'not a valid JSON Schema');
  });

  it('a broker URL is a secret: written literally it is flagged, and never echoed in an error', () => {
    const error = loadError(route('{ type: rabbitmq, url: "amqp://user:hunter2@[bad", destination: a }'));
    assert.equal(error.message.includes('hunter2'), false, error.message);
  });

  it('a destination parameter the path pattern does not have is refused at load, naming the parameters it has', () => {
    const error = loadError(route('{ type: rabbitmq, url: "amqp://mq", destination: { param: topics, allow: [a] } }'));
    issueAt(error, '/routes/0/upstream/destination/param', 'no :topics (its parameters: :topic)');
  });
});
