// Named upstreams (`upstreams:` + `upstream: NAME`): resolved at load, every problem reported once, at
// the place in the file the user has to change.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load.js';
import { httpUpstreamOf } from '../../src/upstream/registry.js';
import { issueAt, loadError } from './fixtures.js';

const FILE = '/etc/gatehouse/gatehouse.yaml';

describe('named upstreams', () => {
  it('a route naming an upstream gets its definition, defaults applied; an inline upstream still works', () => {
    const { config } = loadConfigText(`
upstreams:
  orders:
    url: http://orders.internal:8080
    auth:
      - { type: header, name: x-api-key, value: "\${env:KEY}" }
routes:
  - { name: read, match: { path: /orders/*, methods: [GET] }, public: true, upstream: orders }
  - { name: write, match: { path: /orders/*, methods: [POST] }, public: true, upstream: orders }
  - { name: other, match: { path: /other/* }, public: true, upstream: { url: http://other.internal } }
`, FILE, { KEY: 'k-123' });
    const [read, write, other] = config.routes.map((r) => httpUpstreamOf(r.upstream)!);
    assert.equal(read!.url, 'http://orders.internal:8080');
    assert.deepEqual(read, write);
    assert.equal(read!.auth?.[0]?.type, 'header');
    assert.notEqual(read, write, 'each route has its own copy');
    assert.equal(other!.url, 'http://other.internal');
    assert.deepEqual([read!.preserveHost, read!.forwardAuthorization], [false, false], 'the definition got its defaults');
  });

  it('an unknown name is refused at the route, naming the defined ones', () => {
    const error = loadError(`
upstreams:
  orders: { url: http://orders.internal }
  billing: { url: http://billing.internal }
routes:
  - { name: a, match: { path: /a }, public: true, upstream: order }
`);
    assert.deepEqual(error.issues.map((i) => [i.path, i.line]), [['/routes/0/upstream', 6]]);
    issueAt(error, '/routes/0/upstream', 'no upstream named "order"; defined: orders, billing');
  });

  it('without an upstreams section the error says how to define one', () => {
    const error = loadError('routes:\n  - { name: a, match: { path: /a }, public: true, upstream: orders }\n');
    issueAt(error, '/routes/0/upstream', 'define it under `upstreams:`');
  });

  it('a problem inside a definition is reported once, at the definition, however many routes name it', () => {
    const error = loadError(`
upstreams:
  orders:
    url: ftp://orders.internal
routes:
  - { name: a, match: { path: /a }, public: true, upstream: orders }
  - { name: b, match: { path: /b }, public: true, upstream: orders }
`);
    assert.deepEqual(error.issues.map((i) => [i.path, i.line]), [['/upstreams/orders/url', 4]], error.message);
  });

  it('a schema problem inside a definition is not repeated (nor cascaded) at the routes', () => {
    const error = loadError(`
upstreams:
  orders:
    url: http://orders.internal
    timeot: 5s
routes:
  - { name: a, match: { path: /a }, public: true, upstream: orders }
`);
    assert.deepEqual(error.issues.map((i) => i.path), ['/upstreams/orders/timeot'], error.message);
  });

  it('a value from a reference is not echoed when a check inside a definition quotes it', () => {
    const error = loadError(`
upstreams:
  orders: { url: "\${env:BACKEND}" }
routes:
  - { name: a, match: { path: /a }, public: true, upstream: orders }
`, { BACKEND: 'ftp://user:hunter2@orders.internal' });
    const issue = issueAt(error, '/upstreams/orders/url', '(value from ${env:BACKEND})');
    assert.doesNotMatch(issue.message, /hunter2/);
    assert.doesNotMatch(error.message, /hunter2/);
  });

  it('what a route-level check finds inside a named upstream points at the definition and names the route', () => {
    const error = loadError(`
upstreams:
  orders:
    url: http://orders.internal
    forwardAuthorization: true
    auth:
      - { type: oauth2, tokenUrl: "https://login.example.com/token", clientId: gw, clientSecret: "\${env:S}" }
routes:
  - { name: a, match: { path: /a }, public: true, upstream: orders }
`, { S: 'x' });
    assert.deepEqual(error.issues.map((i) => [i.path, i.line]), [['/upstreams/orders/forwardAuthorization', 5]], error.message);
    issueAt(error, '/upstreams/orders/forwardAuthorization', 'route "a": `forwardAuthorization: true` contradicts the oauth2 credential');
  });
});
