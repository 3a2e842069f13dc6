// Forward-auth: a real gateway asked exactly as Traefik (ForwardAuth), Caddy (forward_auth) and Envoy
// (ext_authz HTTP service) ask, from their documentation; then what an outsider tries with forged headers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { writeApiKeyFile } from '../harness/api-keys.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { startSigningKeys, type SigningKeys } from '../harness/provider-tokens.js';

const ISSUER = 'https://callers.example';
let upstream: TestUpstream;
let gw: TestGateway;
let callers: SigningKeys;
let tokenServer: http.Server;
const dir = mkdtempSync(join(tmpdir(), 'gh-fwdauth-'));
const keys: Record<string, string> = {};
const BACKEND_KEY = 'backend-key-secret-v1';
const OAUTH_TOKEN = 'upstream-oauth-token-secret';

interface Answer { status: number; headers: IncomingHttpHeaders; body: string }

/** One request to the gateway from `localAddress` (127.0.0.1: the trusted proxy; 127.0.0.2: anyone else). */
function ask(method: string, path: string, headers: OutgoingHttpHeaders, localAddress = '127.0.0.1'): Promise<Answer> {
  const u = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers, localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** What Traefik's ForwardAuth sends: GET to its `address`, the original request in X-Forwarded-*, the client's headers copied. */
const traefik = (method: string, uri: string, extra: OutgoingHttpHeaders = {}): Promise<Answer> => ask('GET', '/.gatehouse/auth', {
  'x-forwarded-method': method, 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example', 'x-forwarded-uri': uri, 'x-forwarded-for': '203.0.113.9', ...extra,
});
/** What Caddy's forward_auth sends: GET to `uri`, X-Forwarded-Method/-Uri, reverse_proxy's X-Forwarded-For/-Proto/-Host, the original Host. */
const caddy = (method: string, uri: string, extra: OutgoingHttpHeaders = {}): Promise<Answer> => ask('GET', '/.gatehouse/auth', {
  host: 'app.example', 'x-forwarded-method': method, 'x-forwarded-uri': uri, 'x-forwarded-for': '203.0.113.10', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example', ...extra,
});
/** What Envoy's ext_authz HTTP service sends: the original method, path_prefix + the original path, the original Host, Content-Length 0. */
const envoy = (method: string, uri: string, extra: OutgoingHttpHeaders = {}): Promise<Answer> => ask(method, `/.gatehouse/auth${uri}`, {
  host: 'app.example', 'content-length': '0', 'x-forwarded-proto': 'https', ...extra,
});


before(async () => {
  const keysFile = join(dir, 'keys.yaml');
  Object.assign(keys, writeApiKeyFile(keysFile, [{ name: 'reader-co', roles: ['reader'] }, { name: 'writer-co', roles: ['reader', 'writer'] }, { name: 'admin-co', roles: ['admin'] }]));
  writeFileSync(join(dir, 'backend-key'), `${BACKEND_KEY}\n`);
  writeFileSync(join(dir, 'client-secret'), 'oauth-client-secret\n');
  tokenServer = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: OAUTH_TOKEN, token_type: 'Bearer', expires_in: 3600 })));
  await new Promise<void>((resolve) => tokenServer.listen(0, '127.0.0.1', resolve));
  callers = await startSigningKeys();
  upstream = await startUpstream();
  const backend = {
    url: upstream.url, assertion: true,
    auth: [
      { type: 'header', name: 'X-Backend-Key', value: `\${file:${join(dir, 'backend-key')}}` },
      { type: 'oauth2', tokenUrl: `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/token`, clientId: 'gatehouse', clientSecret: `\${file:${join(dir, 'client-secret')}}`, header: 'x-backend-token' },
    ],
  };
  gw = await startGateway({
    forwardAuth: { trustedProxies: ['127.0.0.1'] },
    providers: {
      keys: { type: 'api-key', keys: keysFile },
      callers: { type: 'oidc', issuer: ISSUER, jwksUri: callers.jwksUri, audience: 'api://orders' },
    },
    routes: [
      { name: 'orders-read', match: { path: '/orders/*', methods: ['GET'] }, authenticate: ['keys', 'callers'], allow: [{ roles: ['reader'] }], upstream: { url: upstream.url } },
      { name: 'orders-write', match: { path: '/orders/*', methods: ['POST', 'DELETE'] }, authenticate: ['keys'], allow: [{ roles: ['writer'] }], upstream: { url: upstream.url } },
      { name: 'admin', match: { path: '/admin/*' }, authenticate: ['keys'], allow: [{ roles: ['admin'] }], limits: [{ name: 'admin-burst', key: ['subject'], rate: '3/m' }], upstream: backend },
      { name: 'public', match: { path: '/public/*' }, public: true, upstream: { url: upstream.url } },
      // A broker nobody listens on: a publish could only fail.
      { name: 'events', match: { path: '/events', methods: ['POST'] }, authenticate: ['keys'], allow: [{ roles: ['writer'] }], upstream: { type: 'nats', servers: 'nats://127.0.0.1:1', destination: 'orders.submitted', timeout: '1s', assertion: true } },
    ],
  });
});
after(async () => {
  await gw.stop();
  await upstream.close();
  await callers.close();
  tokenServer.closeAllConnections();
  await new Promise((resolve) => tokenServer.close(resolve));
});

const bearer = async (roles: string[], ttl = 600): Promise<string> => {
  const t = Math.floor(Date.now() / 1000);
  return `Bearer ${await callers.sign({ iss: ISSUER, aud: 'api://orders', sub: 'alice', roles, iat: t, exp: t + ttl })}`;
};

test('Traefik: allowed with the identity headers and no body; denied and unauthenticated with the problem body', async () => {
  const ok = await traefik('GET', '/orders/7?expand=lines', { 'x-api-key': keys['reader-co']!, cookie: 'theme=dark' });
  assert.equal(ok.status, 200, ok.body);
  assert.equal(ok.body, '');
  assert.equal(ok.headers['x-gatehouse-subject'], 'reader-co');
  assert.equal(ok.headers['x-gatehouse-roles'], 'reader');
  assert.equal(ok.headers['x-gatehouse-auth-method'], 'apikey');
  assert.equal(ok.headers['cache-control'], 'no-store');
  for (const echoed of ['x-api-key', 'cookie', 'x-forwarded-uri', 'set-cookie']) assert.equal(ok.headers[echoed], undefined, `${echoed} is not echoed back`);

  const denied = await traefik('DELETE', '/orders/7', { 'x-api-key': keys['reader-co']! });
  assert.equal(denied.status, 403);
  assert.equal(JSON.parse(denied.body).code, 'no_rule_matched');
  assert.match(denied.headers['content-type'] ?? '', /problem\+json/);
  assert.equal(denied.headers['x-gatehouse-subject'], undefined, 'no identity on a refusal');

  const anonymous = await traefik('GET', '/orders/7');
  assert.equal(anonymous.status, 401);
  assert.equal(JSON.parse(anonymous.body).code, 'token_missing');
  // A gRPC call described to us is still answered to the proxy in HTTP (it renders gRPC for its client).
  const grpcCall = await traefik('POST', '/orders/7', { 'content-type': 'application/grpc' });
  assert.equal(grpcCall.status, 401);
  assert.equal(JSON.parse(grpcCall.body).code, 'token_missing');
  assert.equal((await traefik('POST', '/orders/7', { 'x-api-key': keys['writer-co']! })).status, 200, 'the method decides the route');
  assert.equal(upstream.seen.length, 0, 'no upstream is ever called');
});

test('Caddy: a bearer token decided on the original host and URI; a bad one gets its challenge', async () => {
  const ok = await caddy('GET', '/orders/9', { authorization: await bearer(['reader']) });
  assert.equal(ok.status, 200, ok.body);
  assert.equal(ok.headers['x-gatehouse-subject'], 'alice');
  assert.equal(ok.headers['x-gatehouse-issuer'], ISSUER);
  const expired = await caddy('GET', '/orders/9', { authorization: await bearer(['reader'], -120) });
  assert.equal(expired.status, 401);
  assert.equal(JSON.parse(expired.body).code, 'token_expired');
  assert.match(expired.headers['www-authenticate'] ?? '', /^Bearer .*error="invalid_token"/);
  const denied = await caddy('GET', '/orders/9', { authorization: await bearer(['guest']) });
  assert.equal(denied.status, 403);
});

test('Envoy: the path below the endpoint is the original one, normalized before it is routed', async () => {
  const ok = await envoy('GET', '/orders/7?x=1', { 'x-api-key': keys['reader-co']! });
  assert.equal(ok.status, 200, ok.body);
  assert.equal(ok.headers['x-gatehouse-subject'], 'reader-co');
  assert.equal((await envoy('DELETE', '/orders/7', { 'x-api-key': keys['reader-co']! })).status, 403);
  // /public/../admin/x is /admin/x: decided as the admin route, not as the public one.
  const trick = await envoy('GET', '/public/../admin/x', { 'x-api-key': keys['reader-co']! });
  assert.equal(trick.status, 403);
  assert.equal(JSON.parse(trick.body).code, 'no_rule_matched');
  const line = await gw.auditLine((l) => l.request_id === trick.headers['x-request-id']);
  assert.equal(line?.route, 'admin');
  assert.equal(line?.path, '/admin/x');
  assert.equal((await envoy('GET', '/public/page')).status, 200);
  assert.equal((await envoy('GET', '/nowhere')).status, 404);
});

test('the endpoint is its path (with a query, or below it) and nothing else', async () => {
  const withQuery = await ask('GET', '/.gatehouse/auth?rd=https%3A%2F%2Fapp.example%2F', { 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/public/a' });
  assert.equal(withQuery.status, 200);
  // A public route has no identity: every header it could speak through is there, empty, so a proxy replaces a client's copy.
  assert.equal(withQuery.headers['x-gatehouse-subject'], '');
  assert.equal(withQuery.headers['x-gatehouse-assertion'], '');
  const beside = await ask('GET', '/.gatehouse/authz', { 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/public/a' });
  assert.equal(beside.status, 404);
  assert.equal(JSON.parse(beside.body).code, 'route_not_found');
  assert.equal((await gw.auditLine((l) => l.request_id === beside.headers['x-request-id']))?.forward_auth, undefined);
});

test('a route with upstream credentials: the decision carries the identity and assertion, never the credentials', async () => {
  const ok = await traefik('GET', '/admin/users', { 'x-api-key': keys['admin-co']! });
  assert.equal(ok.status, 200, ok.body);
  assert.equal(ok.headers['x-gatehouse-subject'], 'admin-co');
  const assertion = ok.headers['x-gatehouse-assertion'];
  assert.ok(typeof assertion === 'string');
  assert.equal(decodeJwt(assertion).aud, 'admin');
  assert.equal(decodeJwt(assertion).sub, 'admin-co');
  const everything = JSON.stringify(ok.headers) + ok.body;
  for (const secret of [BACKEND_KEY, OAUTH_TOKEN, 'oauth-client-secret']) assert.ok(!everything.includes(secret), 'no upstream credential in the answer');
  for (const name of ['x-backend-key', 'x-backend-token', 'authorization']) assert.equal(ok.headers[name], undefined, name);
  assert.equal(upstream.seen.length, 0);
  // The same route proxied directly does present both (the credentials work; only forward-auth leaves them out).
  const direct = await ask('GET', '/admin/users', { 'x-api-key': keys['admin-co']! });
  assert.equal(direct.status, 200, direct.body);
  assert.equal(upstream.seen.at(-1)!.headers['x-backend-key'], BACKEND_KEY);
  assert.equal(upstream.seen.at(-1)!.headers['x-backend-token'], `Bearer ${OAUTH_TOKEN}`);
});

test('a broker route: the decision and the identity, never a publish', async () => {
  const ok = await traefik('POST', '/events', { 'x-api-key': keys['writer-co']! });
  assert.equal(ok.status, 200, ok.body);
  // A broker route speaks for the caller in message properties, not headers: the answer has its assertion only.
  assert.equal(ok.headers['x-gatehouse-subject'], undefined);
  assert.equal(decodeJwt(String(ok.headers['x-gatehouse-assertion'])).sub, 'writer-co');
  assert.equal(decodeJwt(String(ok.headers['x-gatehouse-assertion'])).aud, 'events');
  assert.equal((await traefik('POST', '/events', { 'x-api-key': keys['reader-co']! })).status, 403);
  const direct = await ask('POST', '/events', { 'x-api-key': keys['writer-co']!, 'content-type': 'application/json' });
  assert.equal(direct.status, 503, 'proxied, the publish fails: the 200 above published nothing');
});

test('limits count decisions: past the rate the answer is 429 with Retry-After', async () => {
  let last: Answer | undefined;
  for (let i = 0; i < 4; i++) last = await envoy('GET', '/admin/limited', { 'x-api-key': keys['admin-co']! });
  assert.equal(last!.status, 429);
  assert.equal(JSON.parse(last!.body).code, 'rate_limited');
  assert.ok(last!.headers['retry-after']);
});

test('from an untrusted peer the endpoint refuses whatever the headers say', async () => {
  for (const [method, path, headers] of [
    ['GET', '/.gatehouse/auth', { 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/admin/users', 'x-forwarded-host': 'app.example', 'x-api-key': keys['admin-co']! }],
    ['GET', '/.gatehouse/auth', { 'x-original-method': 'GET', 'x-original-uri': '/public/x' }],
    ['GET', '/.gatehouse/auth/admin/users', { 'x-api-key': keys['admin-co']! }],
    ['GET', '/.gatehouse/auth', {}],
  ] as const) {
    const res = await ask(method, path, headers, '127.0.0.2');
    assert.equal(res.status, 403, path);
    assert.equal(JSON.parse(res.body).code, 'forward_auth_untrusted_peer');
    assert.equal(res.headers['x-gatehouse-subject'], undefined);
  }
  const line = await gw.auditLine((l) => l.error === 'forward_auth_untrusted_peer');
  assert.equal(line?.forward_auth, true);
  assert.equal(line?.client_address, '127.0.0.2');
});

test('a request that does not describe exactly one original request is refused, never guessed', async () => {
  const key = { 'x-api-key': keys['writer-co']! };
  const cases: [string, Promise<Answer>][] = [
    ['no method', ask('GET', '/.gatehouse/auth', { 'x-original-uri': '/orders/1', ...key })],
    ['no uri', ask('GET', '/.gatehouse/auth', { 'x-original-method': 'GET', ...key })],
    ['sources disagree', ask('GET', '/.gatehouse/auth', { 'x-original-method': 'GET', 'x-original-uri': '/orders/1', 'x-forwarded-uri': '/public/1', ...key })],
    ['methods disagree', traefik('DELETE', '/orders/1', { 'x-original-method': 'GET', ...key })],
    ['envoy path vs a forwarded header', envoy('DELETE', '/orders/1', { 'x-forwarded-uri': '/public/1', ...key })],
    ['absolute-form', traefik('GET', 'http://app.example/orders/1', key)],
    ['bad method', traefik('GET /x HTTP/1.1', '/orders/1', key)],
  ];
  for (const [name, pending] of cases) {
    const res = await pending;
    assert.equal(res.status, 400, name);
    assert.equal(JSON.parse(res.body).code, 'forward_auth_request_invalid', name);
  }
  const twice = await new Promise<Answer>((resolve, reject) => {
    const req = http.request(`${gw.url}/.gatehouse/auth`, { method: 'GET', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' }));
    });
    req.setHeader('x-forwarded-method', 'GET');
    req.setHeader('x-forwarded-uri', ['/public/1', '/orders/1']);
    req.on('error', reject);
    req.end();
  });
  assert.equal(twice.status, 400, 'a describing header sent twice');
});

test('each decision is one audit line marked forward_auth, and counted in the metrics', async () => {
  const ok = await traefik('GET', '/orders/3?q=1', { 'x-api-key': keys['reader-co']! });
  const line = await gw.auditLine((l) => l.request_id === ok.headers['x-request-id']);
  assert.ok(line);
  assert.equal(line.forward_auth, true);
  assert.equal(line.route, 'orders-read');
  assert.equal(line.method, 'GET');
  assert.equal(line.path, '/orders/3');
  assert.equal(line.host, 'app.example');
  assert.equal(line.client_address, '203.0.113.9');
  assert.equal(line.upstream, null);
  assert.equal(line.status, 200);
  assert.deepEqual((line.decision as { allow: boolean }).allow, true);
  assert.ok(!JSON.stringify(await gw.audit()).includes(keys['reader-co']!), 'never the key');
  const direct = await ask('GET', '/public/x', {});
  const proxied = await gw.auditLine((l) => l.request_id === direct.headers['x-request-id']);
  assert.equal(proxied?.forward_auth, undefined, 'proxied requests are not marked');
  const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  assert.match(metrics, /gatehouse_requests_total\{route="orders-read",status="200",code="ok"\} [1-9]/);
});
