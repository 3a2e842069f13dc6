import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '../../src/config/load.js';
import { compileWebSocket } from '../../src/upstream/websocket/settings.js';
import { issueAt, loadError } from './fixtures.js';

const route = (websocket: string, upstream = '{ url: "http://127.0.0.1:3000" }'): string =>
  `routes:\n  - name: live\n    public: true\n    match: { path: /live/* }\n    websocket: ${websocket}\n    upstream: ${upstream}\n`;

test('websocket: true takes the defaults (idle 5m, lifetime 24h, 1 MiB messages); each limit can be set', () => {
  const { config } = loadConfigText(route('true'), '/etc/gatehouse/gatehouse.yaml', {});
  assert.deepEqual(compileWebSocket(config.routes[0]!.websocket), { idleTimeoutMs: 300_000, maxLifetimeMs: 86_400_000, maxMessageBytes: 1_048_576 });
  const set = loadConfigText(route('{ idleTimeout: 30s, maxMessageSize: 64kb }'), '/etc/gatehouse/gatehouse.yaml', {}).config;
  assert.deepEqual(compileWebSocket(set.routes[0]!.websocket), { idleTimeoutMs: 30_000, maxLifetimeMs: 86_400_000, maxMessageBytes: 64_000 });
  assert.equal(compileWebSocket(false), undefined);
});

test('websocket: a misspelt limit, a bad duration and a broker upstream are issues at their paths', () => {
  issueAt(loadError(route('{ idleTimout: 30s }')), '/routes/0/websocket/idleTimout', 'did you mean "idleTimeout"');
  issueAt(loadError(route('{ idleTimeout: soon }')), '/routes/0/websocket/idleTimeout');
  issueAt(loadError(route('true', '{ type: rabbitmq, url: "amqp://mq", destination: a }')), '/routes/0/websocket', 'needs an HTTP upstream');
});
