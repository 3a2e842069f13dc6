import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { formatApiKeyHash, generateApiKey } from '../../src/authn/apikey/format.js';
import { makeIdentity, type Identity, type IdentityFields } from '../../src/identity/identity.js';
import type { AssertionSigner } from '../../src/outbound/assertion.js';
import type { ClientInfo } from '../../src/outbound/client.js';
import { buildUpstreamHeaders, compileHeaderPolicy, DEFAULT_IDENTITY_HEADERS, type HeaderPolicy } from '../../src/outbound/headers.js';
import { assertionStage } from '../../src/outbound/steps.js';
import type { RequestContext } from '../../src/pipeline/context.js';
import { createHttpUpstream } from '../../src/upstream/http/http.js';
import { HttpUpstreamSchema } from '../../src/upstream/http/schema.js';
import { UpstreamResources } from '../../src/upstream/upstream.js';
import { startGateway } from '../harness/gateway.js';
import { closeAll, echo, startServer } from '../upstream/helpers.js';

const CLIENT: ClientInfo = { address: '198.51.100.4', proto: 'https', host: 'app.example', forwardedFor: ['198.51.100.4', '10.0.0.1'] };
const ALICE_FIELDS: IdentityFields = {
  provider: 'corp', issuer: 'https://idp.example', subject: 'alice', clientId: 'web', tenant: 't1',
  roles: ['admin', 'dev'], groups: [], scopes: ['read', 'write'], authMethod: 'jwt', claims: {},
};
const ALICE = makeIdentity(ALICE_FIELDS);

type HttpUpstreamConfig = Static<typeof HttpUpstreamSchema>;
const UPSTREAM = 'http://backend.internal:9000';
/** An HTTP upstream's config with the schema's defaults, as config loading leaves it. */
const upstreamConfig = (cfg: Partial<HttpUpstreamConfig> = {}): HttpUpstreamConfig => Value.Default(HttpUpstreamSchema, { url: UPSTREAM, ...cfg }) as HttpUpstreamConfig;
const policy = (cfg: Partial<HttpUpstreamConfig> = {}, mode: 'x-forwarded' | 'forwarded' | 'both' = 'x-forwarded') =>
  compileHeaderPolicy(upstreamConfig(cfg), mode, []);
const build = (inbound: IncomingHttpHeaders, p = policy(), identity: Identity | undefined = undefined) =>
  buildUpstreamHeaders({ headers: inbound, client: CLIENT, identity }, p);

/** The headers as the HTTP upstream sends them: built, then its prepare() sets Host. */
const resources = new UpstreamResources();
after(() => resources.close());
function prepared(inbound: IncomingHttpHeaders, cfg: Partial<HttpUpstreamConfig> = {}): Record<string, string | string[]> {
  const upstream = createHttpUpstream(upstreamConfig(cfg), resources);
  const ctx = { method: 'GET', path: '/', query: '', headers: inbound, client: CLIENT, identity: undefined, body: undefined } as unknown as RequestContext;
  return upstream.prepare(ctx, build(inbound, policy(cfg))).headers;
}

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
    // Host is the upstream's to set (its prepare()), so it is not among the built headers.
    assert.deepEqual(
      Object.keys(out).sort(),
      ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto'],
    );
    const sent = prepared({ ...inbound, host: 'spoofed' });
    for (const name of SPOOFABLE) assert.notEqual(sent[name], 'spoofed', name);
    assert.deepEqual(
      Object.keys(sent).sort(),
      ['host', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto'],
    );
    assert.equal(sent.host, 'backend.internal:9000');
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
    assert.equal(build({ host: 'app.example' }).host, undefined, 'the inbound Host is never copied');
    assert.equal(prepared({ host: 'app.example' }).host, 'backend.internal:9000');
    assert.equal(prepared({ host: 'internal' }, { preserveHost: true }).host, 'app.example');
    assert.equal(build({ 'set-cookie': ['a=1', 'b=2'] })['set-cookie'], 'a=1, b=2');
  });

  test('credential headers of the route\'s authenticators are dropped unless forwardAuthorization', () => {
    const withKeys = (cfg: Partial<HttpUpstreamConfig> = {}): HeaderPolicy => compileHeaderPolicy(upstreamConfig(cfg), 'x-forwarded', ['X-Api-Key', 'x-amz-security-token']);
    const inbound = { 'x-api-key': 'gh_secret', 'x-amz-security-token': 'tok', 'x-kept': 'k' };
    const out = build(inbound, withKeys());
    assert.equal(out['x-api-key'], undefined);
    assert.equal(out['x-amz-security-token'], undefined);
    assert.equal(out['x-kept'], 'k');
    assert.equal(build(inbound, withKeys({ forwardAuthorization: true }))['x-api-key'], 'gh_secret');
  });
});

describe('buildUpstreamHeaders: forwarding and identity', () => {
  test('fresh X-Forwarded-*, Forwarded, or both', () => {
    assert.deepEqual(build({}, policy({}, 'x-forwarded')), {
      'x-forwarded-for': '198.51.100.4, 10.0.0.1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example',
    });
    const fwd = build({}, policy({}, 'forwarded'));
    assert.equal(fwd.forwarded, 'for=198.51.100.4;proto=https;host=app.example, for=10.0.0.1');
    assert.equal(fwd['x-forwarded-for'], undefined);
    const both = build({}, policy({}, 'both'));
    assert.ok(both.forwarded && both['x-forwarded-for']);
  });

  test('default identity headers are injected; lists comma-joined; absent fields omitted', async () => {
    const out = build({}, policy(), ALICE);
    const expected: Record<string, string> = {
      'x-gatehouse-subject': 'alice', 'x-gatehouse-provider': 'corp', 'x-gatehouse-issuer': 'https://idp.example',
      'x-gatehouse-client-id': 'web', 'x-gatehouse-tenant': 't1', 'x-gatehouse-roles': 'admin,dev',
      'x-gatehouse-scopes': 'read,write', 'x-gatehouse-auth-method': 'jwt',
    };
    for (const [name, value] of Object.entries(expected)) assert.equal(out[name], value, name);
    assert.equal(out['x-gatehouse-groups'], undefined);
    assert.equal(DEFAULT_IDENTITY_HEADERS.length, 9);
    // No assertion configured: the policy names no assertion header (and the route adds no assertion step).
    assert.equal(policy().assertionHeader, undefined);
    assert.equal(Object.keys(out).some((name) => name.includes('assertion')), false);
    // Configured: the assertion step sets the policy's header on the built request.
    const p = policy({ assertion: true });
    assert.equal(p.assertionHeader, 'x-gatehouse-assertion');
    const signer = { cached: () => undefined, mint: () => Promise.resolve('jwt.value') } as unknown as AssertionSigner;
    const ctx = { identity: ALICE, outbound: { headers: build({}, p, ALICE) } } as unknown as RequestContext;
    assert.equal(await assertionStage(signer, p.assertionHeader, 'r', 60).run(ctx), undefined);
    assert.equal(ctx.outbound!.headers['x-gatehouse-assertion'], 'jwt.value');
  });

  test('CR/LF, non-ASCII and % in claims are percent-encoded; commas inside list items too', () => {
    const evil = makeIdentity({ ...ALICE_FIELDS, subject: 'alice\r\nx-injected: 1', tenant: 'Zürich 100%', roles: ['a,b', 'c\u0000'] });
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
    // A real gateway whose caller's identity (from an API key file) carries a CRLF in its subject.
    const { id, key } = generateApiKey();
    const keysFile = join(mkdtempSync(join(tmpdir(), 'gatehouse-headers-')), 'keys.json');
    writeFileSync(keysFile, JSON.stringify({ keys: [{ id, name: 'alice\r\nx-injected: yes', roles: ['admin', 'dev'], hash: formatApiKeyHash(key) }] }));
    const up = await startServer(echo);
    opened.push(up);
    const front = await startGateway({
      audit: { sink: 'off' },
      providers: { keys: { type: 'api-key', keys: keysFile } },
      routes: [{ name: 'wire', match: { path: '/*' }, authenticate: ['keys'], upstream: { url: up.url } }],
    });
    opened.push({ close: () => front.stop() });
    const req = httpRequest(`${front.url}/`, {
      headers: { connection: 'keep-alive, x-hop', 'x-hop': '1', te: 'trailers', 'x-gatehouse-roles': 'root', 'x-forwarded-for': '6.6.6.6', 'x-real-ip': '6.6.6.6', authorization: 'Bearer secret', 'x-api-key': key, 'x-kept': 'k' },
    });
    req.end();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    const seen = JSON.parse(Buffer.concat(chunks).toString()) as { headers: Record<string, string> };
    assert.equal(res.statusCode, 200);
    for (const name of ['x-hop', 'te', 'x-real-ip', 'authorization', 'x-api-key', 'x-injected']) assert.equal(seen.headers[name], undefined, name);
    assert.equal(seen.headers['x-gatehouse-roles'], 'admin,dev');
    assert.equal(seen.headers['x-gatehouse-subject'], 'alice%0D%0Ax-injected: yes');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-kept'], 'k');
  });
});
