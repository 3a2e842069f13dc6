// Real nginx in front, Gatehouse as its decision point: `auth_request` to the forward-auth endpoint,
// identity headers copied upstream with `auth_request_set`, started by this test from a config in a
// temp directory (the configuration docs/forward-auth.md shows, with ports filled in).
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

const NGINX = findBinary('nginx', ['/usr/sbin/nginx']);
const SKIP = NGINX === undefined ? 'nginx is not installed (apt-get install nginx): the real-nginx forward-auth tests did not run' : false;
if (SKIP && process.env.CI !== 'true') console.warn(`SKIPPED: ${SKIP}`);

let app: TestUpstream;
let unused: TestUpstream;
let gw: TestGateway;
let nginx: ChildProcess | undefined;
let base = '';
let dir = '';
const keys: Record<string, string> = {};


function nginxConfig(port: number, gatehouse: string, upstream: string): string {
  return `daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location / {
      auth_request /_gatehouse;
      auth_request_set $gh_subject $upstream_http_x_gatehouse_subject;
      auth_request_set $gh_roles $upstream_http_x_gatehouse_roles;
      auth_request_set $gh_assertion $upstream_http_x_gatehouse_assertion;
      proxy_set_header X-Gatehouse-Subject $gh_subject;
      proxy_set_header X-Gatehouse-Roles $gh_roles;
      proxy_set_header X-Gatehouse-Assertion $gh_assertion;
      proxy_pass ${upstream};
    }
    # Browser pages: nginx cannot pass Gatehouse's sign-in redirect from auth_request, so its 401
    # sends the browser to the gateway's sign-in start (docs/forward-auth.md).
    location /app/ {
      auth_request /_gatehouse;
      error_page 401 = @login;
      proxy_pass ${upstream};
    }
    location @login {
      return 302 /.gatehouse/login?rd=$request_uri;
    }
    location = /_gatehouse {
      internal;
      proxy_pass ${gatehouse}/.gatehouse/auth;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`;
}

before(async () => {
  if (NGINX === undefined) {
    if (process.env.CI === 'true') throw new Error('nginx is required in CI (.ci/run installs it): apt-get install nginx');
    return;
  }
  dir = mkdtempSync(join(tmpdir(), 'gh-nginx-'));
  const keysFile = join(dir, 'keys.yaml');
  Object.assign(keys, writeApiKeyFile(keysFile, [{ name: 'reader-co', roles: ['reader'] }, { name: 'admin-co', roles: ['admin'] }]));
  app = await startUpstream();
  unused = await startUpstream();
  gw = await startGateway({
    forwardAuth: { trustedProxies: ['127.0.0.1'] },
    providers: { keys: { type: 'api-key', keys: keysFile } },
    routes: [
      { name: 'orders', match: { path: '/orders/*', methods: ['GET'] }, authenticate: ['keys'], allow: [{ roles: ['reader'] }], upstream: { url: unused.url, assertion: true } },
      { name: 'orders-write', match: { path: '/orders/*', methods: ['DELETE'] }, authenticate: ['keys'], allow: [{ roles: ['writer'] }], upstream: { url: unused.url } },
      { name: 'admin', match: { path: '/admin/*' }, authenticate: ['keys'], allow: [{ roles: ['admin'] }], upstream: { url: unused.url } },
      { name: 'public', match: { path: '/public/*' }, public: true, upstream: { url: unused.url } },
      { name: 'app', match: { path: '/app/*' }, authenticate: ['keys'], upstream: { url: unused.url } },
    ],
  });
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(port, gw.url, app.url));
  nginx = await startFrontProxy(NGINX, ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')], port, join(dir, 'error.log'));
  base = `http://127.0.0.1:${port}`;
});

after(async () => {
  await stopFrontProxy(nginx, 'SIGQUIT');
  await gw?.stop();
  await app?.close();
  await unused?.close();
});

test('an allowed request reaches the upstream with the identity headers nginx copied', { skip: SKIP }, async () => {
  const line = await expectAllowedThrough(base, keys['reader-co']!, gw, app, unused);
  assert.equal(line?.host, '127.0.0.1');
});

test('without a credential nginx answers 401; a denied one 403; neither reaches the upstream', { skip: SKIP }, async () => {
  const before = app.seen.length;
  const anonymous = await rawRequest(base, 'GET', '/orders/7');
  assert.equal(anonymous.status, 401);
  assert.match(anonymous.body, /401 Authorization Required/, "nginx's own page");
  const denied = await rawRequest(base, 'GET', '/admin/users', { 'x-api-key': keys['reader-co']! });
  assert.equal(denied.status, 403);
  const wrongMethod = await rawRequest(base, 'DELETE', '/orders/7', { 'x-api-key': keys['reader-co']! });
  assert.equal(wrongMethod.status, 403, 'DELETE is decided as DELETE, on the route for writers');
  assert.equal((await gw.auditLine((l) => l.forward_auth === true && l.method === 'DELETE'))?.route, 'orders-write');
  // Gatehouse answers 405; nginx turns any answer but 2xx, 401 and 403 into 500 (docs/forward-auth.md).
  assert.equal((await rawRequest(base, 'PUT', '/orders/7', { 'x-api-key': keys['reader-co']! })).status, 500);
  assert.equal(app.seen.length, before, 'the upstream never saw a denied request');
});

test('a browser without a credential is redirected to the sign-in start with its page as return path; with one it gets the page', { skip: SKIP }, async () => {
  const before = app.seen.length;
  const browser = await rawRequest(base, 'GET', '/app/reports?week=48', { accept: 'text/html' });
  assert.equal(browser.status, 302);
  assert.match(String(browser.headers.location), /\/\.gatehouse\/login\?rd=\/app\/reports\?week=48$/);
  assert.equal(app.seen.length, before, 'the page was not served');
  const signedIn = await rawRequest(base, 'GET', '/app/reports', { accept: 'text/html', 'x-api-key': keys['reader-co']! });
  assert.equal(signedIn.status, 200);
});

test('a path-traversal trick is decided on the normalized path', { skip: SKIP }, async () => {
  const before = app.seen.length;
  // nginx passes $request_uri as sent; Gatehouse decides /admin/x, not /public/...
  const res = await rawRequest(base, 'GET', '/public/../admin/x', { 'x-api-key': keys['reader-co']! });
  assert.equal(res.status, 403);
  assert.equal(app.seen.length, before);
  const line = await gw.auditLine((l) => l.forward_auth === true && l.path === '/admin/x');
  assert.equal(line?.route, 'admin');
  assert.equal((await rawRequest(base, 'GET', '/public/../admin/x', { 'x-api-key': keys['admin-co']! })).status, 200);
});

test('a client cannot forge the identity headers nginx sets from the decision', { skip: SKIP }, async () => {
  const res = await rawRequest(base, 'GET', '/public/page', { 'x-gatehouse-subject': 'admin-co', 'x-gatehouse-roles': 'admin' });
  assert.equal(res.status, 200);
  const seen = app.seen.at(-1)!;
  assert.equal(seen.url, '/public/page');
  assert.equal(seen.headers['x-gatehouse-subject'], undefined, 'an empty decision value replaces the forged one');
  assert.equal(seen.headers['x-gatehouse-roles'], undefined);
});
