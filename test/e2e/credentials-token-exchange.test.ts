// Outbound credential `token-exchange`: the caller's token (or the gateway's signed assertion for the
// caller) exchanged at the real in-process oidc-provider, whose RFC 8693 and Entra on-behalf-of grants
// are registered in test/harness/token-grants.ts (real handlers verifying the subject token at its
// issuer's JWKS); a real upstream verifies the token it gets at the OP's JWKS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startOidcProvider, type TestOidcProvider } from '../harness/oidc-provider.js';
import { JWT_BEARER, TOKEN_EXCHANGE, tokenGrants, type GrantLog } from '../harness/token-grants.js';
import { startBearerUpstream, type BearerUpstream } from '../harness/bearer-upstream.js';
import { rawRequest } from '../harness/http.js';

let op: TestOidcProvider;
let grants: GrantLog;
let upstream: BearerUpstream;
let gw: TestGateway;
const dir = mkdtempSync(join(tmpdir(), 'gh-cred-tx-'));
const SECRET = `tx-${Math.random().toString(36).slice(2)}-made-at-test-time`;
const CALLERS = ['caller-a', 'caller-b', 'caller-c', 'caller-d'];
const seenTokens: string[] = [];

async function callerToken(clientId: string, resource = 'api://test'): Promise<string> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: SECRET, resource });
  const res = await fetch(`${op.issuer}/token`, { method: 'POST', body });
  const json = (await res.json()) as { access_token: string };
  seenTokens.push(json.access_token);
  return json.access_token;
}
const as = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
const exchanges = (grant = TOKEN_EXCHANGE): number => grants.requests.filter((r) => r.grant === grant).length;

before(async () => {
  const g = await tokenGrants(() => [{ issuer: op.issuer, jwksUri: `${op.issuer}/jwks` }, { issuer: 'gatehouse', jwksUri: `${gw.url}/.well-known/jwks.json`, audience: `${op.issuer}/token` }]);
  grants = g.log;
  const none = { redirect_uris: [], response_types: [] };
  op = await startOidcProvider({
    clients: [
      ...CALLERS.map((id) => ({ ...none, client_id: id, client_secret: SECRET, grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_post' })),
      { ...none, client_id: 'gw-exchange', client_secret: SECRET, grant_types: [TOKEN_EXCHANGE, JWT_BEARER], token_endpoint_auth_method: 'client_secret_basic' },
    ],
    resourceServers: { 'api://short': { scope: 'read', ttl: 8 } },
    setup: g.setup,
  });
  upstream = await startBearerUpstream(() => ({ issuer: op.issuer, jwksUri: `${op.issuer}/jwks`, audience: 'api://orders' }));
  writeFileSync(join(dir, 'secret'), SECRET);
  const client = { tokenUrl: `${op.issuer}/token`, clientId: 'gw-exchange', clientSecret: `\${file:${join(dir, 'secret')}}` };
  const route = (name: string, auth: Record<string, unknown>, url = upstream.url) =>
    ({ name, match: { path: `/${name}/*` }, authenticate: ['op'], upstream: { url, auth: [{ type: 'token-exchange', ...client, ...auth }] } });
  gw = await startGateway({
    providers: { op: { type: 'oidc', issuer: op.issuer, audience: ['api://test', 'api://short'] } },
    routes: [
      route('orders', { audience: 'api://orders', scope: 'orders.read' }),
      route('assert', { subject: 'assertion', audience: 'api://orders' }),
      route('obo', { preset: 'entra-obo', scope: 'api://orders/.default' }),
      route('short', { audience: 'api://orders', refreshBefore: '1s' }),
      route('down', { audience: 'api://orders', tokenUrl: 'http://127.0.0.1:9/token' }),
    ],
  });
});
after(async () => { await gw.stop(); await upstream.close(); await op.stop(); });

test('the caller\'s token is exchanged for one for the backend: its subject, the backend\'s audience, the gateway as actor', async () => {
  const res = await rawRequest(gw.url, 'GET', '/orders/1', as(await callerToken('caller-a')));
  assert.equal(res.status, 200, res.body);
  const got = upstream.verified.at(-1)!;
  assert.deepEqual([got.sub, got.aud, (got.act as { sub: string }).sub, got.scope], ['caller-a', 'api://orders', 'gw-exchange', 'orders.read']);
  const asked = grants.requests.at(-1)!;
  assert.deepEqual([asked.client, asked.params.subject_token_type, asked.params.audience], ['gw-exchange', 'urn:ietf:params:oauth:token-type:access_token', 'api://orders']);
  const line = await gw.auditLine((l) => l.route === 'orders');
  assert.deepEqual(line?.credentials, [{ kind: 'token-exchange', client: 'gw-exchange', token_url: `${op.issuer}/token`, subject: 'caller-token', audience: 'api://orders' }]);
});

test('cached per caller token: one exchange for many requests, one for concurrent first requests, one per caller', async () => {
  const a = await callerToken('caller-a');
  const c = await callerToken('caller-c');
  const before = exchanges();
  for (let i = 0; i < 5; i++) assert.equal((await rawRequest(gw.url, 'GET', '/orders/1', as(a))).status, 200);
  const burst = await Promise.all(Array.from({ length: 10 }, () => rawRequest(gw.url, 'GET', '/orders/2', as(c))));
  assert.ok(burst.every((r) => r.status === 200));
  assert.equal(exchanges() - before, 2);
  assert.deepEqual(new Set(upstream.verified.slice(-10).map((p) => p.sub)), new Set(['caller-c']));
});

test('an exchanged token is not reused past the caller token\'s life, even when it lives longer itself', async () => {
  const short = await callerToken('caller-a', 'api://short');   // lives 8 s: its exchange is reused until 5 s before that
  const before = exchanges();
  assert.equal((await rawRequest(gw.url, 'GET', '/short/1', as(short))).status, 200);
  assert.equal((await rawRequest(gw.url, 'GET', '/short/1', as(short))).status, 200);
  assert.equal(exchanges() - before, 1);
  await new Promise((r) => setTimeout(r, 3300));
  assert.equal((await rawRequest(gw.url, 'GET', '/short/1', as(short))).status, 200);
  assert.equal(exchanges() - before, 2);
});

test('the token endpoint refusing the caller\'s token answers 403 token_exchange_refused; nothing is sent upstream', async () => {
  grants.refuse.add('caller-b');
  const sent = upstream.seen.length;
  const b = await callerToken('caller-b');
  for (const path of ['/orders/1', '/obo/1']) {
    const res = await rawRequest(gw.url, 'GET', path, as(b));
    assert.equal(res.status, 403, res.body);
    assert.equal(res.json().code, 'token_exchange_refused');
    assert.match(String(res.json().detail), /\(invalid_grant\)$/);
  }
  assert.equal(upstream.seen.length, sent);
  const line = await gw.auditLine((l) => l.route === 'obo' && l.error === 'token_exchange_refused');
  assert.match(String(line?.error_detail), /HTTP 400 invalid_grant: AADSTS65001/);
});

test('subject: assertion exchanges the gateway\'s signed assertion for the caller (verified at the gateway\'s JWKS)', async () => {
  const res = await rawRequest(gw.url, 'GET', '/assert/1', as(await callerToken('caller-d')));
  assert.equal(res.status, 200, res.body);
  assert.equal(upstream.verified.at(-1)!.sub, 'caller-d');
  assert.equal(grants.requests.at(-1)!.params.subject_token_type, 'urn:ietf:params:oauth:token-type:jwt');
  const line = await gw.auditLine((l) => l.route === 'assert');
  assert.equal((line?.credentials as { subject: string }[])[0]!.subject, 'assertion');
});

test('preset entra-obo: the jwt-bearer grant with requested_token_use=on_behalf_of and the caller\'s token as assertion', async () => {
  const token = await callerToken('caller-c');
  const res = await rawRequest(gw.url, 'GET', '/obo/1', as(token));
  assert.equal(res.status, 200, res.body);
  const asked = grants.requests.at(-1)!;
  assert.deepEqual([asked.grant, asked.params.requested_token_use, asked.params.assertion, asked.params.scope], [JWT_BEARER, 'on_behalf_of', token, 'api://orders/.default']);
  assert.deepEqual([upstream.verified.at(-1)!.sub, upstream.verified.at(-1)!.aud], ['caller-c', 'api://orders']);
});

test('an unreachable token endpoint answers 503 upstream_credential_unavailable', async () => {
  const res = await rawRequest(gw.url, 'GET', '/down/1', as(await callerToken('caller-a')));
  assert.deepEqual([res.status, res.json().code], [503, 'upstream_credential_unavailable']);
});

test('no token or secret in the audit', async () => {
  const audit = JSON.stringify(await gw.audit());
  assert.ok(!audit.includes(SECRET));
  for (const t of seenTokens) assert.ok(!audit.includes(t.split('.')[2]!), 'no caller token');
});
