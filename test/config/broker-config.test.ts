import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load.js';
import { issueAt, loadError } from './fixtures.js';
import { SERVICEBUS } from '../../src/upstream/broker/servicebus.js';

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

  it('a written URL that fails its pattern is shown without its password', () => {
    const error = loadError(route('{ type: rabbitmq, url: "http://u:hunter2@mq", destination: a }'));
    issueAt(error, '/routes/0/upstream/url', 'got string "http://u:***@mq"');
    assert.equal(error.message.includes('hunter2'), false, error.message);
  });

  it('a destination parameter the path pattern does not have is refused at load, naming the parameters it has', () => {
    const error = loadError(route('{ type: rabbitmq, url: "amqp://mq", destination: { param: topics, allow: [a] } }'));
    issueAt(error, '/routes/0/upstream/destination/param', 'no :topics (its parameters: :topic)');
  });
});

describe('NATS JetStream upstream config', () => {
  it('a NATS route loads with one server or several, credentials from references', () => {
    const { config, warnings } = loadConfigText(route('{ type: nats, servers: [nats://n1:4222, nats://n2:4222], user: gatehouse, password: "${env:NATS_PASSWORD}", destination: { param: topic, allow: [orders.a] } }'), '/etc/gatehouse/gatehouse.yaml', { NATS_PASSWORD: 'p' });
    const up = config.routes[0]!.upstream as Record<string, unknown>;
    assert.deepEqual([up.servers, up.password, up.timeout, up.maxInFlight], [['nats://n1:4222', 'nats://n2:4222'], 'p', '5s', 256]);
    assert.deepEqual(warnings, []);
    const single = loadConfigText(route('{ type: nats, servers: "tls://nats:4222", creds: "${env:CREDS}", ca: "${env:CA}", stream: ORDERS, destination: orders.a }'), '/etc/gatehouse/gatehouse.yaml', { CREDS: 'creds', CA: 'pem' });
    assert.equal((single.config.routes[0]!.upstream as Record<string, unknown>).stream, 'ORDERS');
  });

  it('a bad server URL is refused without echoing it: wrong scheme, unparsable, credentials in the URL', () => {
    for (const [servers, at] of [['"http://u:hunter2@nats:4222"', ''], ['"nats://u:hunter2@[bad"', ''], ['[nats://n1:4222, "nats://u:hunter2@n2:4222"]', '/1']] as const) {
      const error = loadError(route(`{ type: nats, servers: ${servers}, destination: a }`));
      issueAt(error, `/routes/0/upstream/servers${at}`, 'the value is not shown');
      assert.equal(error.message.includes('hunter2'), false, error.message);
    }
  });

  it('one authentication at most; a user needs a password; ca is for tls:// servers; TLS and plain servers are not mixed', () => {
    const env = { T: 't', P: 'p' };
    issueAt(loadError(route('{ type: nats, servers: nats://n:4222, token: "${env:T}", user: u, password: "${env:P}", destination: a }'), env), '/routes/0/upstream', 'one authentication at most', 'token, user/password');
    issueAt(loadError(route('{ type: nats, servers: nats://n:4222, user: u, destination: a }')), '/routes/0/upstream/password', 'user needs a password');
    issueAt(loadError(route('{ type: nats, servers: nats://n:4222, ca: "-----BEGIN CERTIFICATE-----", destination: a }')), '/routes/0/upstream/ca', 'tls://');
    issueAt(loadError(route('{ type: nats, servers: [nats://n1:4222, tls://n2:4222], destination: a }')), '/routes/0/upstream/servers', 'mixed');
  });

  it('NATS credentials are secrets: written literally they are warned about, never shown', () => {
    const { warningIssues } = loadConfigText(route('{ type: nats, servers: nats://n:4222, token: s3cret-token, destination: a }'), '/etc/gatehouse/gatehouse.yaml', {});
    const warning = warningIssues.find((w) => w.path === '/routes/0/upstream/token');
    assert.ok(warning, JSON.stringify(warningIssues));
    assert.match(warning.message, /secret written as a literal/);
    assert.equal(JSON.stringify(warningIssues).includes('s3cret-token'), false);
  });

  it('a stream name with a wildcard or a dot is refused', () => {
    issueAt(loadError(route('{ type: nats, servers: nats://n:4222, stream: "ORDERS.*", destination: a }')), '/routes/0/upstream/stream', '');
  });
});

describe('sqs upstream config', () => {
  const KEYS = 'credentials: { static: { accessKeyId: AKIAIOSFODNN7EXAMPLE, secretAccessKey: "${env:AWS_SECRET}" } }';
  const ENV = { AWS_SECRET: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };

  it('an SQS route loads with its defaults', () => {
    const { config, warnings } = loadConfigText(route(`{ type: sqs, region: eu-west-1, ${KEYS}, destination: { param: topic, allow: [orders, orders.fifo] } }`), '/etc/gatehouse/gatehouse.yaml', ENV);
    const up = config.routes[0]!.upstream as Record<string, unknown>;
    assert.deepEqual([up.timeout, up.messageGroupId, up.bodyEncoding, up.contentTypes], ['5s', '{subject}', 'text', ['application/json']]);
    assert.deepEqual(warnings, []);
  });

  it('every problem at once: a plain-http endpoint, a bad queue name, an unknown group placeholder, a binary type sent as text, both kinds of keys', () => {
    const error = loadError(route(`{ type: sqs, region: eu-west-1, endpoint: "http://sqs.example.com", destination: { param: topic, allow: ["orders.v1", "https://sqs.eu-west-1.amazonaws.com/123456789012/ok.fifo"] },
      messageGroupId: "{nickname}", contentTypes: [application/octet-stream],
      credentials: { static: { accessKeyId: AKIAIOSFODNN7EXAMPLE, secretAccessKey: "\${env:AWS_SECRET}" }, webIdentity: { roleArn: "arn:aws:iam::123456789012:role/w", tokenFile: /t } } }`), ENV);
    issueAt(error, '/routes/0/upstream/endpoint', 'https://');
    issueAt(error, '/routes/0/upstream/destination/allow/0', 'queue name');
    assert.equal(error.issues.some((i) => i.path === '/routes/0/upstream/destination/allow/1'), false, 'a queue URL is a destination');
    issueAt(error, '/routes/0/upstream/messageGroupId', 'unknown placeholder {nickname}');
    issueAt(error, '/routes/0/upstream/contentTypes/0', 'bodyEncoding: base64');
    issueAt(error, '/routes/0/upstream/credentials/webIdentity', 'not both');
  });

  it('web identity: a fixed session from an absolute token file or the gateway\'s OAuth2 token; no per-caller session, no chained role', () => {
    const ok = `credentials: { webIdentity: { roleArn: "arn:aws:iam::123456789012:role/writer", tokenFile: /var/run/secrets/eks.amazonaws.com/serviceaccount/token, sessionName: gatehouse-orders } }`;
    loadConfigText(route(`{ type: sqs, region: eu-west-1, destination: orders, ${ok} }`), '/etc/gatehouse/gatehouse.yaml', {});
    const error = loadError(route(`{ type: sqs, region: eu-west-1, destination: orders, credentials: { webIdentity: { roleArn: "arn:aws:iam::123456789012:role/writer", tokenFile: token.jwt,
      sessionName: "{subject}", stsEndpoint: "http://sts.example.com", policy: "not json", assumeRole: { roleArn: "arn:aws:iam::123456789012:role/tagged" } } } }`));
    issueAt(error, '/routes/0/upstream/credentials/webIdentity/tokenFile', 'absolute path');
    issueAt(error, '/routes/0/upstream/credentials/webIdentity/sessionName', 'fixed name');
    issueAt(error, '/routes/0/upstream/credentials/webIdentity/stsEndpoint', 'https://');
    issueAt(error, '/routes/0/upstream/credentials/webIdentity/assumeRole', 'not supported');
    issueAt(error, '/routes/0/upstream/credentials/webIdentity/policy', 'not valid JSON');
    const oauth2 = loadError(route(`{ type: sqs, region: eu-west-1, destination: orders, credentials: { webIdentity: { roleArn: "arn:aws:iam::123456789012:role/writer",
      token: { oauth2: { tokenUrl: "http://login.example.com/token", clientId: gh, clientAuth: client_assertion_file, clientAssertionFile: assertion.jwt } } } } }`));
    issueAt(oauth2, '/routes/0/upstream/credentials/webIdentity/token/oauth2/tokenUrl', 'https://');
    issueAt(oauth2, '/routes/0/upstream/credentials/webIdentity/token/oauth2/clientAssertionFile', 'absolute path');
    loadConfigText(route(`{ type: sqs, region: eu-west-1, destination: orders, credentials: { webIdentity: { roleArn: "arn:aws:iam::123456789012:role/writer",
      token: { oauth2: { tokenUrl: "https://login.example.com/token", clientId: gh, clientSecret: "\${env:CLIENT_SECRET}" } } } } }`), '/etc/gatehouse/gatehouse.yaml', { CLIENT_SECRET: 's3cr3t-value' });
    const missing = loadError(route('{ type: sqs, region: eu-west-1, destination: orders, credentials: {} }'));
    issueAt(missing, '/routes/0/upstream/credentials', 'missing credentials');
  });

  it('the secret key is a secret: written literally it is warned about by path, never echoed', () => {
    const { warnings } = loadConfigText(route('{ type: sqs, region: eu-west-1, destination: orders, credentials: { static: { accessKeyId: AKIAIOSFODNN7EXAMPLE, secretAccessKey: hunter2-literal-key } } }'), '/etc/gatehouse/gatehouse.yaml', {});
    assert.ok(warnings.some((w) => w.includes('routes[0].upstream.credentials.static.secretAccessKey') && w.includes('literal')), warnings.join('\n'));
    assert.equal(warnings.join('\n').includes('hunter2'), false);
  });
});

describe('Service Bus upstream config', () => {
  const KEY = 'c2VjcmV0LWtleS1ub3QtdG8tYmUtZWNob2Vk';
  const CS = `Endpoint=sb://shop.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=${KEY}`;

  it('a route with a connection string loads with its defaults; the label has no key', () => {
    const { config } = loadConfigText(route('{ type: servicebus, connectionString: "${env:SB}", destination: orders, sessionId: "{subject}", partitionKey: "{subject}" }'), '/etc/gatehouse/gatehouse.yaml', { SB: CS });
    const up = config.routes[0]!.upstream as Record<string, unknown>;
    assert.deepEqual([up.connectionString, up.timeout, up.maxInFlight, up.sessionId], [CS, '5s', 256, '{subject}']);
    assert.equal(SERVICEBUS.label(up as never), 'sb://shop.servicebus.windows.net');
  });

  it('a namespace with an Entra credential loads (default, workload identity, client secret by reference)', () => {
    for (const credential of ['{ type: default }', '{ type: workload-identity, clientId: 6e74172b-be56-4843-9ff4-e66a39bb12e3 }', '{ type: client-secret, tenantId: t1, clientId: c1, clientSecret: "${env:SECRET}" }']) {
      const { config, warnings } = loadConfigText(route(`{ type: servicebus, namespace: shop.servicebus.windows.net, credential: ${credential}, destination: orders }`), '/etc/gatehouse/gatehouse.yaml', { SECRET: 'x' });
      assert.equal((config.routes[0]!.upstream as Record<string, unknown>).namespace, 'shop.servicebus.windows.net');
      assert.deepEqual(warnings, [], credential);
    }
  });

  it('exactly one of a connection string or a namespace with a credential', () => {
    issueAt(loadError(route('{ type: servicebus, destination: orders }')), '/routes/0/upstream', 'connectionString', 'namespace');
    issueAt(loadError(route('{ type: servicebus, connectionString: "${env:SB}", namespace: shop.servicebus.windows.net, credential: { type: default }, destination: orders }'), { SB: CS }), '/routes/0/upstream/namespace', 'not both');
    issueAt(loadError(route('{ type: servicebus, namespace: shop.servicebus.windows.net, destination: orders }')), '/routes/0/upstream/credential', 'needs `credential`');
    issueAt(loadError(route('{ type: servicebus, credential: { type: default }, destination: orders }')), '/routes/0/upstream/namespace', 'needs `namespace`');
    issueAt(loadError(route('{ type: servicebus, namespace: shop.servicebus.windows.net, credential: { type: client-secret, tenantId: t }, destination: orders }')), '/routes/0/upstream/credential/clientSecret', 'missing');
  });

  it('a malformed connection string is refused without echoing it (it holds the key)', () => {
    for (const bad of [`Endpoint=https://shop/;SharedAccessKeyName=send;SharedAccessKey=${KEY}`, `Endpoint=sb://shop.servicebus.windows.net/;SharedAccessKey=${KEY}`, KEY]) {
      const error = loadError(route('{ type: servicebus, connectionString: "${env:SB}", destination: orders }'), { SB: bad });
      issueAt(error, '/routes/0/upstream/connectionString', 'expected a connection string');
      assert.equal(error.message.includes(KEY), false, error.message);
    }
  });

  it('session id and partition key templates: known placeholders only, and the same text when both are given', () => {
    issueAt(loadError(route('{ type: servicebus, connectionString: "${env:SB}", destination: orders, sessionId: "{email}" }'), { SB: CS }), '/routes/0/upstream/sessionId', 'unknown placeholder {email}');
    issueAt(loadError(route('{ type: servicebus, connectionString: "${env:SB}", destination: orders, partitionKey: "a b" }'), { SB: CS }), '/routes/0/upstream/partitionKey', 'visible characters');
    issueAt(loadError(route('{ type: servicebus, connectionString: "${env:SB}", destination: orders, sessionId: "{subject}", partitionKey: "{tenant}" }'), { SB: CS }), '/routes/0/upstream/partitionKey', 'session id');
  });

  it('a connection string and a client secret written literally are flagged as secrets', () => {
    const { warnings } = loadConfigText(route(`{ type: servicebus, connectionString: "${CS}", destination: orders }`), '/etc/gatehouse/gatehouse.yaml', {});
    assert.ok(warnings.some((w) => w.includes('connectionString')), warnings.join('\n'));
    assert.equal(warnings.join('\n').includes(KEY), false);
    const literal = loadConfigText(route('{ type: servicebus, namespace: shop.servicebus.windows.net, credential: { type: client-secret, tenantId: t, clientId: c, clientSecret: hunter2 }, destination: orders }'), '/etc/gatehouse/gatehouse.yaml', {});
    assert.ok(literal.warnings.some((w) => w.includes('clientSecret')), literal.warnings.join('\n'));
  });
});
