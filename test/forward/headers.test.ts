import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import type { Identity } from '../../src/identity/identity.js';
import type { ClientInfo } from '../../src/outbound/client.js';
import { buildUpstreamHeaders, compileHeaderPolicy, DEFAULT_IDENTITY_HEADERS } from '../../src/outbound/headers.js';
import { closeAll, echo, startChain, upstreamConfig, type UpstreamConfig } from '../upstream/helpers.js';

const CLIENT: ClientInfo = { address: '198.51.100.4', proto: 'https', host: 'app.example', forwardedFor: ['198.51.100.4', '10.0.0.1'] };
const ALICE: Identity = {
  provider: 'corp', issuer: 'https://idp.example', subject: 'alice', clientId: 'web', tenant: 't1',
  roles: ['admin', 'dev'], groups: [], scopes: ['read', 'write'], authMethod: 'jwt', claims: {},
};

const policy = (cfg: Partial<UpstreamConfig> = {}, mode: 'x-forwarded' | 'forwarded' | 'both' = 'x-forwarded') =>
  compileHeaderPolicy(upstreamConfig('http://backend.internal:9000', cfg), mode, 'backend.internal:9000');
const build = (inbound: IncomingHttpHeaders, p = policy(), identity: Identity | undefined = undefined, assertion?: string) =>
  buildUpstreamHeaders(inbound, CLIENT, identity, assertion, p);

const SPOOFABLE = [
  'x-gatehouse-subject', 'x-gatehouse-anything', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host',
  'x-forwarded-uri', 'x-forwarded-prefix', 'x-forwarded-user', 'x-forwarded-port', 'forwarded', 'x-real-ip',
  'x-original-url', 'x-original-uri', 'x-rewrite-url', 'x-original-method', 'x-http-method-override',
  'x-client-ip', 'true-client-ip', 'x-remote-user', 'x-auth-request-user', 'x-auth-request-email',
  'remote-user', 'x-user', 'x-email',
];

describe('buildUpstreamHeaders: stripping', () => {
  test('hop-by-hop headers are dropped, including those named in Connection', () => {
    const out = build({
      connection: 'keep-alive, X-Hop, x-other', 'keep-alive': 'timeout=5', 'proxy-connection': 'keep-alive', te: 'trailers',
      trailer: 'x-t', 'transfer-encoding': 'chunked', upgrade: 'h2c', 'proxy-authorization': 'Basic eA==',
      'proxy-authenticate': 'Basic', 'x-hop': '1', 'x-other': '2', expect: '100-continue', 'x-end-to-end': '3',
    });
    for (const name of ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
      'proxy-authorization', 'proxy-authenticate', 'x-hop', 'x-other', 'expect']) {
      assert.equal(out[name], undefined, name);
    }
    assert.equal(out['x-end-to-end'], '3');
  });

  test('spoofable identity and routing headers are always stripped and replaced', () => {
    const inbound: IncomingHttpHeaders = Object.fromEntries(SPOOFABLE.map((name) => [name, 'spoofed']));
    const out = build(inbound);
    for (const name of SPOOFABLE) assert.notEqual(out[name], 'spoofed', name);
    assert.deepEqual(
      Object.keys(out).sort(),
      ['host', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto'],
    );
  });

  test('configured identity and assertion header names are stripped even outside x-gatehouse-', () => {
    const p = policy({ identityHeaders: { 'X-User-Id': 'subject' }, assertion: { header: 'X-Identity-JWT', ttl: '60s' } });
    const out = build({ 'x-user-id': 'mallory', 'x-identity-jwt': 'forged' }, p);
    assert.equal(out['x-user-id'], undefined);
    assert.equal(out['x-identity-jwt'], undefined);
  });

  test('identity and assertion headers may not take framing or routing header names', () => {
    for (const name of ['Content-Length', 'host', 'transfer-encoding', 'x-forwarded-for']) {
      assert.throws(() => policy({ identityHeaders: { [name]: 'subject' } }), /reserved/);
    }
    assert.throws(() => policy({ assertion: { header: 'content-length', ttl: '60s' } }), /reserved/);
  });

  test('Authorization is dropped unless forwardAuthorization', () => {
    assert.equal(build({ authorization: 'Bearer t' }).authorization, undefined);
    assert.equal(build({ authorization: 'Bearer t' }, policy({ forwardAuthorization: true })).authorization, 'Bearer t');
  });

  test('Host is the upstream host unless preserveHost; list values are joined', () => {
    assert.equal(build({ host: 'app.example' }).host, 'backend.internal:9000');
    assert.equal(build({ host: 'internal' }, policy({ preserveHost: true })).host, 'app.example');
    assert.equal(build({ 'set-cookie': ['a=1', 'b=2'] })['set-cookie'], 'a=1, b=2');
  });
});

describe('buildUpstreamHeaders: forwarding and identity', () => {
  test('fresh X-Forwarded-*, Forwarded, or both', () => {
    assert.deepEqual(build({}, policy({}, 'x-forwarded')), {
      host: 'backend.internal:9000', 'x-forwarded-for': '198.51.100.4, 10.0.0.1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example',
    });
    const fwd = build({}, policy({}, 'forwarded'));
    assert.equal(fwd.forwarded, 'for=198.51.100.4;proto=https;host=app.example, for=10.0.0.1');
    assert.equal(fwd['x-forwarded-for'], undefined);
    const both = build({}, policy({}, 'both'));
    assert.ok(both.forwarded && both['x-forwarded-for']);
  });

  test('default identity headers are injected; lists comma-joined; absent fields omitted', () => {
    const out = build({}, policy(), ALICE, 'jwt.value');
    const expected: Record<string, string> = {
      'x-gatehouse-subject': 'alice', 'x-gatehouse-provider': 'corp', 'x-gatehouse-issuer': 'https://idp.example',
      'x-gatehouse-client-id': 'web', 'x-gatehouse-tenant': 't1', 'x-gatehouse-roles': 'admin,dev',
      'x-gatehouse-scopes': 'read,write', 'x-gatehouse-auth-method': 'jwt',
    };
    for (const [name, value] of Object.entries(expected)) assert.equal(out[name], value, name);
    assert.equal(out['x-gatehouse-groups'], undefined);
    assert.equal(DEFAULT_IDENTITY_HEADERS.length, 9);
    // No assertion header configured: the assertion is not sent.
    assert.equal(Object.values(out).includes('jwt.value'), false);
    const withAssertion = build({}, policy({ assertion: true }), ALICE, 'jwt.value');
    assert.equal(withAssertion['x-gatehouse-assertion'], 'jwt.value');
  });

  test('CR/LF, non-ASCII and % in claims are percent-encoded; commas inside list items too', () => {
    const evil: Identity = { ...ALICE, subject: 'alice\r\nx-injected: 1', tenant: 'Zürich 100%', roles: ['a,b', 'c\u0000'] };
    const out = build({}, policy(), evil);
    assert.equal(out['x-gatehouse-subject'], 'alice%0D%0Ax-injected: 1');
    assert.equal(out['x-gatehouse-tenant'], 'Z%C3%BCrich 100%25');
    assert.equal(out['x-gatehouse-roles'], 'a%2Cb,c%00');
    assert.equal(decodeURIComponent(out['x-gatehouse-tenant'] as string), 'Zürich 100%');
    for (const value of Object.values(out)) assert.doesNotMatch(String(value), /[\r\n\0]/);
  });
});

describe('headers on the wire', () => {
  const opened: { close(): Promise<void> }[] = [];
  after(() => closeAll(opened));

  test('hop-by-hop and spoofed headers never reach the upstream; a CRLF claim cannot inject a header', async () => {
    const identity: Identity = { ...ALICE, subject: 'alice\r\nx-injected: yes' };
    const { front } = await startChain(echo, { front: { identity } }, opened);
    const req = httpRequest(`${front.url}/`, {
      headers: { connection: 'keep-alive, x-hop', 'x-hop': '1', te: 'trailers', 'x-gatehouse-roles': 'root', 'x-forwarded-for': '6.6.6.6', 'x-real-ip': '6.6.6.6', authorization: 'Bearer secret', 'x-kept': 'k' },
    });
    req.end();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    const seen = JSON.parse(Buffer.concat(chunks).toString()) as { headers: Record<string, string> };
    for (const name of ['x-hop', 'te', 'x-real-ip', 'authorization', 'x-injected']) assert.equal(seen.headers[name], undefined, name);
    assert.equal(seen.headers['x-gatehouse-roles'], 'admin,dev');
    assert.equal(seen.headers['x-gatehouse-subject'], 'alice%0D%0Ax-injected: yes');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-kept'], 'k');
  });
});
