import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Static } from '@sinclair/typebox';
import { createIntrospectionAuthenticator } from '../../src/authn/introspection/introspection.js';
import type { IntrospectionProviderSchema } from '../../src/authn/introspection/schema.js';
import { createBearerAuthenticator } from '../../src/authn/jwt/bearer.js';
import type { JwtProvider } from '../../src/authn/jwt/provider.js';
import { ABSENT, PENDING, type AuthnOutcome, type Authenticator, type AuthnRequest } from '../../src/authn/authenticator.js';
import { authenticateWith, authnRequest } from '../harness/authn.js';
import { loadConfigText } from '../../src/config/load.js';

// A scripted authorization server on port 0: each test says what the introspection endpoint answers.
interface Call { headers: IncomingHttpHeaders; form: URLSearchParams }
type Reply = { status?: number; type?: string; body?: unknown; delayMs?: number; hang?: boolean };

let server: Server;
let base = '';
let calls: Call[] = [];
let reply: (form: URLSearchParams) => Reply;
const docs = new Map<string, unknown>();

before(async () => {
  server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'GET') {
      const doc = docs.get(path);
      if (doc === undefined) return void res.writeHead(404).end();
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
    }
    let text = '';
    req.on('data', (c: Buffer) => { text += c.toString(); });
    req.on('end', () => {
      const form = new URLSearchParams(text);
      calls.push({ headers: req.headers, form });
      const r = reply(form);
      if (r.hang) return;
      const body = typeof r.body === 'string' ? r.body : JSON.stringify(r.body ?? { active: false });
      setTimeout(() => res.writeHead(r.status ?? 200, { 'content-type': r.type ?? 'application/json' }).end(body), r.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => { server.closeAllConnections(); server.close(); });
beforeEach(() => { calls = []; docs.clear(); reply = () => ({ body: { active: true, sub: 'alice', exp: now() + 600 } }); });

type Cfg = Static<typeof IntrospectionProviderSchema>;
const DEFAULTS = { clientAuth: 'client_secret_basic', timeout: '5s', cacheTtl: '60s', negativeCacheTtl: '0s' } as const;
const now = (): number => Math.floor(Date.now() / 1000);
const make = (over: Partial<Cfg> = {}): Authenticator =>
  createIntrospectionAuthenticator('opaque', { type: 'introspection', endpoint: `${base}/introspect`, clientId: 'gw', clientSecret: 'secret', ...DEFAULTS, ...over }, { baseDir: '.' });
const request = (authorization?: string): AuthnRequest => authnRequest({ headers: authorization ? { authorization } : {} });
const run = (a: Authenticator, token: string): Promise<AuthnOutcome | undefined> => authenticateWith(a, request(`Bearer ${token}`));
async function code(a: Authenticator, token: string): Promise<string> {
  const o = await run(a, token);
  assert.ok(o, 'claimed');
  return o.ok ? 'ok' : o.refusal.code;
}

test('not mine: no Authorization, another scheme, a JWT-shaped token; a malformed bearer token is refused', async () => {
  const a = make();
  // "Not mine" is known without waiting: probe says ABSENT.
  assert.equal(a.probe(request()), ABSENT);
  assert.equal(a.probe(request('Basic Z3c6cw==')), ABSENT);
  assert.equal(a.probe(request('Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln')), ABSENT);
  assert.equal(await authenticateWith(a, request()), undefined);
  assert.equal(await authenticateWith(a, request('Basic Z3c6cw==')), undefined);
  assert.equal(await run(a, 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'), undefined);
  for (const bad of ['', 'two words', 'semi;colon', 'x'.repeat(8193)]) {
    assert.equal(await code(a, bad), 'token_malformed', bad.slice(0, 20));
  }
  assert.equal(calls.length, 0, 'nothing was sent to the endpoint');
});

test('an opaque token that reads "absent" is still a token the endpoint decides', async () => {
  const a = make();
  assert.equal(a.probe(request('Bearer absent')), PENDING);
  assert.equal(await code(a, 'absent'), 'ok');
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.form.get('token'), 'absent');
});

test('the route split: every well-formed token is claimed by exactly one of bearer (JWT) and introspection', async () => {
  const refused = { ok: false, refusal: { code: 'signature_invalid' } };
  const jwt = {
    name: 'op', issuer: 'https://op', cached: () => undefined, verifyNow: () => refused,
    verify: () => Promise.resolve(refused), verifyDecoded: () => Promise.resolve(refused),
  } as unknown as JwtProvider;
  const bearer = createBearerAuthenticator([jwt], { header: true }, { opaqueNotMine: true });
  const intro = make();
  for (const token of ['abc', 'a.b', 'a.b.c', 'a.b.', 'a.b.c.d', 'abc==', 'a-b_c~+/', 'a+b.c.d', 'eyJ.eyJ.sig']) {
    const byBearer = (await authenticateWith(bearer, request(`Bearer ${token}`))) !== undefined;
    const byIntrospection = (await run(intro, token)) !== undefined;
    assert.notEqual(byBearer, byIntrospection, token);
  }
});

test('client_secret_basic: form-encoded id and secret in Basic; the token and a hint in the form', async () => {
  const a = make({ clientId: 'gw:1', clientSecret: 'p@ss:wörd/+' });
  assert.equal(await code(a, 'tok-basic'), 'ok');
  const [call] = calls;
  const decoded = Buffer.from(String(call!.headers.authorization).replace(/^Basic /, ''), 'base64').toString();
  assert.equal(decoded, `${encodeURIComponent('gw:1')}:${encodeURIComponent('p@ss:wörd/+')}`);
  assert.deepEqual(Object.fromEntries(call!.form), { token: 'tok-basic', token_type_hint: 'access_token' });
});

test('client_secret_post: credentials in the form, no Authorization header', async () => {
  assert.equal(await code(make({ clientAuth: 'client_secret_post' }), 'tok-post'), 'ok');
  assert.equal(calls[0]!.headers.authorization, undefined);
  assert.deepEqual(Object.fromEntries(calls[0]!.form), { token: 'tok-post', token_type_hint: 'access_token', client_id: 'gw', client_secret: 'secret' });
});

test('an active response becomes the identity; client-credentials tokens without sub use client_id', async () => {
  const exp = now() + 600;
  reply = () => ({ body: { active: true, client_id: 'batch', scope: 'read write', exp, iss: 'https://as', aud: ['api://a'], token_type: 'Bearer' } });
  const o = await run(make(), 'tok-cc');
  assert.ok(o?.ok);
  assert.equal(o.identity.subject, 'batch');
  assert.equal(o.identity.clientId, 'batch');
  assert.deepEqual(o.identity.scopes, ['read', 'write']);
  assert.equal(o.identity.authMethod, 'introspection');
  assert.equal(o.identity.issuer, 'https://as');
  assert.equal(o.identity.expiresAt, exp);
  reply = () => ({ body: { active: true, username: 'bob', exp } });
  const mapped = await run(make({ claims: { subject: 'username' }, issuer: 'https://as2' }), 'tok-user');
  assert.ok(mapped?.ok);
  assert.equal(mapped.identity.subject, 'bob');
  assert.equal(mapped.identity.issuer, 'https://as2', 'the configured issuer when the response names none');
  reply = () => ({ body: { active: true, exp } });
  assert.equal(await code(make(), 'tok-nosub'), 'claim_invalid');
});

test('active results are cached until cacheTtl, and never past the token exp', async () => {
  const a = make({ cacheTtl: '300ms' });
  for (let i = 0; i < 3; i++) assert.equal(await code(a, 'tok-cache'), 'ok');
  assert.equal(calls.length, 1);
  const hit = a.probe(request('Bearer tok-cache'));
  assert.ok(hit !== ABSENT && hit !== PENDING && hit.ok, 'a cached result is answered without waiting');
  await sleep(350);
  assert.equal(await code(a, 'tok-cache'), 'ok');
  assert.equal(calls.length, 2, 'asked again after cacheTtl');

  reply = () => ({ body: { active: true, sub: 'alice', exp: now() + 1 } });
  const b = make({ cacheTtl: '1h' });
  assert.equal(await code(b, 'tok-exp'), 'ok');
  await sleep(1100);
  reply = () => ({ body: { active: false } });
  assert.equal(await code(b, 'tok-exp'), 'token_inactive', 'the entry ended at exp');
  const c = make({ cacheTtl: '0s' });
  calls = [];
  await code(c, 't0');
  await code(c, 't0');
  assert.equal(calls.length, 2, 'cacheTtl 0s asks every time');
});

test('inactive: token_inactive, not cached unless negativeCacheTtl says so', async () => {
  reply = () => ({ body: { active: false } });
  const a = make();
  assert.equal(await code(a, 'tok-dead'), 'token_inactive');
  assert.equal(await code(a, 'tok-dead'), 'token_inactive');
  assert.equal(calls.length, 2);
  const b = make({ negativeCacheTtl: '1s' });
  calls = [];
  for (let i = 0; i < 3; i++) assert.equal(await code(b, 'tok-dead'), 'token_inactive');
  assert.equal(calls.length, 1);
});

test('concurrent requests with the same new token share one call', async () => {
  reply = () => ({ body: { active: true, sub: 'alice', exp: now() + 60 }, delayMs: 50 });
  const a = make();
  const results = await Promise.all(Array.from({ length: 5 }, () => code(a, 'tok-burst')));
  assert.deepEqual(results, ['ok', 'ok', 'ok', 'ok', 'ok']);
  assert.equal(calls.length, 1);
});

test('endpoint failures fail closed with introspection_failed (503), are published, and are never cached', async () => {
  const seen: unknown[] = [];
  const onFail = (m: unknown): void => { seen.push(m); };
  subscribe('gatehouse:authn:introspection-failed', onFail);
  try {
    const cases: [Reply, string][] = [
      [{ status: 401, body: { error: 'invalid_client' } }, 'HTTP 401'],
      [{ status: 500, body: 'oops', type: 'text/plain' }, 'HTTP 500'],
      [{ body: '<html>', type: 'text/html' }, 'not application/json'],
      [{ body: '{"active":' }, 'not valid JSON'],
      [{ body: { sub: 'x' } }, 'no boolean "active"'],
      [{ body: [true] }, 'no boolean "active"'],
      [{ body: { active: true, pad: 'x'.repeat(70_000) } }, 'too large'],
      [{ hang: true }, 'timeout'],
    ];
    const a = make({ timeout: '200ms' });
    for (const [r, reason] of cases) {
      reply = () => r;
      assert.equal(await code(a, 'tok-fail'), 'introspection_failed', reason);
      assert.match(String((seen.at(-1) as { reason: string }).reason), new RegExp(reason.replace(/[.*"]/g, '.')), reason);
    }
    assert.equal(calls.length, cases.length, 'each failure asked again');
    const down = createIntrospectionAuthenticator('gone', { type: 'introspection', endpoint: 'http://127.0.0.1:1/introspect', clientId: 'a', clientSecret: 'b', ...DEFAULTS }, { baseDir: '.' });
    assert.equal(await code(down, 'tok'), 'introspection_failed');
    assert.deepEqual(seen.at(-1), { provider: 'gone', reason: 'ECONNREFUSED' });
    assert.equal(JSON.stringify(seen).includes('tok-fail'), false, 'no token in events');
  } finally {
    unsubscribe('gatehouse:authn:introspection-failed', onFail);
  }
});

test('audience, token_type and cnf are checked', async () => {
  const a = make({ audience: ['api://orders', 'orders'] });
  const exp = now() + 60;
  const answer = (extra: Record<string, unknown>) => { reply = () => ({ body: { active: true, sub: 'a', exp, ...extra } }); };
  const cases: [Record<string, unknown>, string][] = [
    [{ aud: 'orders' }, 'ok'], [{ aud: ['x', 'api://orders'] }, 'ok'], [{ aud: 'api://billing' }, 'audience_mismatch'], [{}, 'audience_mismatch'],
    [{ aud: 'orders', token_type: 'bearer' }, 'ok'], [{ aud: 'orders', token_type: 'refresh_token' }, 'token_type_invalid'],
    [{ aud: 'orders', token_type: 'DPoP' }, 'token_type_invalid'], [{ aud: 'orders', cnf: { jkt: 'x' } }, 'token_type_invalid'],
  ];
  for (const [i, [extra, want]] of cases.entries()) {
    answer(extra);
    assert.equal(await code(a, `tok-aud-${i}`), want, JSON.stringify(extra));
  }
});

test('discovery: the issuer metadata names the endpoint; a mismatched issuer is refused', async () => {
  const issuer = `${base}/as`;
  docs.set('/as/.well-known/oauth-authorization-server', { issuer, introspection_endpoint: `${base}/introspect` });
  const a = createIntrospectionAuthenticator('d', { type: 'introspection', issuer, clientId: 'gw', clientSecret: 's', ...DEFAULTS }, { baseDir: '.' });
  assert.equal(a.ready, false);
  await a.start();
  assert.equal(a.ready, true, 'found through RFC 8414 after OIDC discovery 404');
  assert.equal(await code(a, 'tok-disc'), 'ok');
  assert.equal((await run(a, 'tok-disc')) !== undefined, true);

  docs.set('/evil/.well-known/openid-configuration', { issuer: 'https://other', introspection_endpoint: `${base}/introspect` });
  const b = createIntrospectionAuthenticator('e', { type: 'introspection', issuer: `${base}/evil`, clientId: 'gw', clientSecret: 's', ...DEFAULTS }, { baseDir: '.' });
  await b.start();
  assert.equal(b.ready, false);
  assert.equal(await code(b, 'tok'), 'introspection_failed');
});

test('config: endpoint or issuer is required, and must be http(s)', () => {
  const cfg = { type: 'introspection' as const, clientId: 'a', clientSecret: 'b', ...DEFAULTS };
  assert.throws(() => createIntrospectionAuthenticator('x', cfg, { baseDir: '.' }), /set `endpoint` or `issuer`/);
  assert.throws(() => createIntrospectionAuthenticator('x', { ...cfg, endpoint: 'ftp://x' }, { baseDir: '.' }), /endpoint must be an http\(s\) URL/);
});

test('docs/providers/introspection.md: the example configs load', () => {
  const doc = readFileSync(new URL('../../docs/providers/introspection.md', import.meta.url), 'utf8');
  const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/\$\{file:[^}]+\}/g, 'secret'));
  const { config } = loadConfigText(blocks[0]!, '/tmp/gatehouse.yaml');
  const p = config.providers!.opaque!;
  assert.equal(p.type, 'introspection');
  if (p.type !== 'introspection') return;
  assert.equal(createIntrospectionAuthenticator('opaque', p, { baseDir: '.' }).kind, 'introspection');
  assert.equal(blocks.length, 2);
});
