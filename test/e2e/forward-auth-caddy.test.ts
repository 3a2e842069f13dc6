// Real Caddy in front, Gatehouse as its decision point: `forward_auth` to the forward-auth endpoint,
// identity headers copied upstream with `copy_headers` (the Caddyfile docs/forward-auth.md shows,
// with addresses filled in), started by this test as its child with its state in a temp directory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectAllowedThrough, findBinary, freePort, startFrontProxy, stopFrontProxy } from '../harness/front-proxy.js';
import { writeApiKeyFile } from '../harness/api-keys.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { rawRequest } from '../harness/http.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';

const CADDY = findBinary('caddy', ['/usr/bin/caddy']);
const SKIP = CADDY === undefined ? 'caddy is not installed (apt-get install caddy): the real-Caddy forward-auth tests did not run' : false;
if (SKIP && process.env.CI !== 'true') console.warn(`SKIPPED: ${SKIP}`);

let app: TestUpstream;
let unused: TestUpstream;
let gw: TestGateway;
let caddy: ChildProcess | undefined;
let base = '';
const keys: Record<string, string> = {};


const caddyfile = (dir: string, port: number, gatehouse: string, upstream: string): string => `{
	admin off
	auto_https off
	storage file_system ${dir}/data
}
http://127.0.0.1:${port} {
	route {
		request_header -X-Gatehouse-*
		forward_auth ${gatehouse} {
			uri /.gatehouse/auth
			copy_headers X-Gatehouse-Subject X-Gatehouse-Roles X-Gatehouse-Groups X-Gatehouse-Scopes X-Gatehouse-Tenant X-Gatehouse-Assertion
		}
		reverse_proxy ${upstream}
	}
}
`;

before(async () => {
  if (CADDY === undefined) {
    if (process.env.CI === 'true') throw new Error('caddy is required in CI (.ci/run installs it): apt-get install caddy');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'gh-caddy-'));
  const keysFile = join(dir, 'keys.yaml');
  Object.assign(keys, writeApiKeyFile(keysFile, [{ name: 'reader-co', roles: ['reader'] }, { name: 'admin-co', roles: ['admin'] }]));
  app = await startUpstream();
  unused = await startUpstream();
  gw = await startGateway({
    forwardAuth: { trustedProxies: ['127.0.0.1'] },
    providers: { keys: { type: 'api-key', keys: keysFile } },
    routes: [
      { name: 'orders', match: { path: '/orders/*', methods: ['GET'] }, authenticate: ['keys'], allow: [{ roles: ['reader'] }], upstream: { url: unused.url, assertion: true } },
      { name: 'admin', match: { path: '/admin/*' }, authenticate: ['keys'], allow: [{ roles: ['admin'] }], upstream: { url: unused.url } },
      { name: 'public', match: { path: '/public/*' }, public: true, upstream: { url: unused.url } },
    ],
  });
  const port = await freePort();
  const file = join(dir, 'Caddyfile');
  writeFileSync(file, caddyfile(dir, port, gw.url.replace('http://', ''), app.url.replace('http://', '')));
  // Caddy keeps its own state under HOME / XDG dirs: the temp directory, never the machine's.
  const env = { ...process.env, HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data') };
  caddy = await startFrontProxy(CADDY, ['run', '--config', file, '--adapter', 'caddyfile'], port, undefined, env);
  base = `http://127.0.0.1:${port}`;
});

after(async () => {
  await stopFrontProxy(caddy);
  await gw?.stop();
  await app?.close();
  await unused?.close();
});

test('an allowed request reaches the upstream with the identity headers Caddy copied', { skip: SKIP }, async () => {
  const line = await expectAllowedThrough(base, keys['reader-co']!, gw, app, unused);
  assert.equal(line?.method, 'GET');
});

test('refusals reach the client as Gatehouse answered them; the upstream never sees them', { skip: SKIP }, async () => {
  const before = app.seen.length;
  const anonymous = await rawRequest(base, 'GET', '/orders/7');
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.json().code, 'token_missing');
  const denied = await rawRequest(base, 'DELETE', '/admin/users', { 'x-api-key': keys['reader-co']! });
  assert.equal(denied.status, 403);
  assert.equal(denied.json().code, 'no_rule_matched');
  assert.equal((await gw.auditLine((l) => l.forward_auth === true && l.method === 'DELETE'))?.route, 'admin');
  const wrongMethod = await rawRequest(base, 'PUT', '/orders/7', { 'x-api-key': keys['reader-co']! });
  assert.equal(wrongMethod.status, 405, 'Caddy passes any status through');
  assert.equal(app.seen.length, before);
});

test('a path-traversal trick is decided on the normalized path', { skip: SKIP }, async () => {
  const before = app.seen.length;
  const res = await rawRequest(base, 'GET', '/public/../admin/x', { 'x-api-key': keys['reader-co']! });
  assert.notEqual(res.status, 200);
  assert.equal(app.seen.length, before);
});

test('a client cannot forge the identity headers Caddy copies from the decision', { skip: SKIP }, async () => {
  const res = await rawRequest(base, 'GET', '/public/page', { 'x-gatehouse-subject': 'admin-co', 'x-gatehouse-roles': 'admin' });
  assert.equal(res.status, 200);
  const seen = app.seen.at(-1)!;
  assert.equal(seen.url, '/public/page');
  for (const name of ['x-gatehouse-subject', 'x-gatehouse-roles', 'x-gatehouse-assertion']) {
    assert.ok(!seen.headers[name], `no forged or placeholder ${name} (got ${String(seen.headers[name])})`);
  }
});
