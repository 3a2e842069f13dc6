import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { importJWK, SignJWT } from 'jose';
import { runCli } from '../harness/run-cli.js';
import { writeConfig } from '../harness/gateway.js';

const CONFIG = `
dev: true
routes:
  - name: reports
    match: { path: /reports/*, methods: [GET] }
    authenticate: [dev]
    deny:
      - { name: no-contractors, groups: [contractors] }
    allow:
      - { name: readers, roles: [reader] }
    upstream: { url: "http://10.0.0.5:8443" }
  - name: status
    match: { path: /status }
    public: true
    upstream: { url: "http://10.0.0.5:8443" }
`;

let file: string;
const tokens: Record<string, string> = {};

before(async () => {
  file = writeConfig(CONFIG);
  for (const [name, args] of Object.entries({
    reader: ['--sub', 'alice', '--roles', 'reader'],
    contractor: ['--sub', 'carol', '--roles', 'reader', '--groups', 'contractors'],
    nobody: ['--sub', 'dave', '--roles', 'writer'],
  })) {
    const r = await runCli(['dev-token', '-c', file, ...args]);
    assert.equal(r.code, 0, r.stderr);
    tokens[name] = r.stdout.trim();
  }
  // dev-token only mints live tokens; sign an expired one with the same dev key.
  const jwk = JSON.parse(readFileSync(join(dirname(file), '.gatehouse/dev-issuer.json'), 'utf8')) as { kid: string };
  const now = Math.floor(Date.now() / 1000);
  tokens.expired = await new SignJWT({ roles: ['reader'] })
    .setProtectedHeader({ alg: 'ES256', kid: jwk.kid }).setIssuer('https://gatehouse.dev.invalid').setAudience('gatehouse')
    .setSubject('erin').setIssuedAt(now - 7200).setExpirationTime(now - 3600).sign(await importJWK(jwk, 'ES256'));
});

async function explain(...args: string[]) {
  return runCli(['explain', '-c', file, ...args]);
}

test('explain: allowed, naming the route, identity and rule', async () => {
  const r = await explain('--token', tokens.reader!, '--method', 'GET', '--path', '/reports/q3');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /route\s+reports -> http:\/\/10\.0\.0\.5:8443/);
  assert.match(r.stdout, /identity\s+subject=alice provider=dev/);
  assert.match(r.stdout, /roles=\[reader\]/);
  assert.match(r.stdout, /decision\s+ALLOW \(allowed, rule readers\)/);
});

test('explain: deny overrides allow', async () => {
  const r = await explain('--token', tokens.contractor!, '--path', '/reports/q3', '--json');
  assert.equal(r.code, 3);
  const out = JSON.parse(r.stdout) as { result: { outcome: string; code: string; rule: string; status: number }; rules: { rule: string; matched: boolean }[] };
  assert.deepEqual(out.result, { outcome: 'refuse', status: 403, code: 'denied_by_rule', detail: 'denied by rule no-contractors', rule: 'no-contractors' });
  assert.deepEqual(out.rules.map((x) => [x.rule, x.matched]), [['no-contractors', true], ['readers', true]]);
});

test('explain: no rule matched', async () => {
  const r = await explain('--token', tokens.nobody!, '--path', '/reports/q3');
  assert.equal(r.code, 3);
  assert.match(r.stdout, /allow readers: no \(roles missing reader\)/);
  assert.match(r.stdout, /decision\s+REFUSE 403 no_rule_matched/);
});

test('explain: authentication failures and routing outcomes', async () => {
  assert.match((await explain('--path', '/reports/q3')).stdout, /REFUSE 401 token_missing/);
  assert.match((await explain('--token', tokens.expired!, '--path', '/reports/q3')).stdout, /REFUSE 401 token_expired/);
  assert.match((await explain('--token', 'not.a.jwt', '--path', '/reports/q3')).stdout, /REFUSE 401 token_malformed/);
  assert.match((await explain('--path', '/status')).stdout, /ALLOW \(public/);
  assert.match((await explain('--path', '/nowhere')).stdout, /REFUSE 404 route_not_found/);
  assert.match((await explain('--method', 'POST', '--path', '/reports/q3')).stdout, /REFUSE 405 method_not_allowed/);
  assert.match((await explain('--path', '/status/../reports/x')).stdout, /route\s+reports/);
  assert.match((await explain('--path', '/../etc/passwd')).stdout, /REFUSE 400 path_traversal/);
});

test('validate: names file, line, path and expected value for each schema error', async () => {
  const bad = writeConfig(`
listen: { port: "eighty", idleTimeout: 5 parsecs }
routes:
  - name: a
    match: { path: /a, method: [GET] }
    public: true
    upstream: { url: "http://x", connectTimeout: 10x }
`);
  const r = await runCli(['validate', '-c', bad]);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 4, r.stderr);
  assert.ok(lines.every((l) => l.startsWith(`${bad}:`)), 'every line names the file');
  assert.match(lines[0]!, /:2:11: listen\.port: expected integer, got string "eighty"/);
  assert.match(lines[1]!, /listen\.idleTimeout: expected a duration/);
  assert.match(lines[2]!, /:5:\d+: routes\[0\]\.match\.method: unknown key "method"; did you mean "methods"\?/);
  assert.match(lines[3]!, /routes\[0\]\.upstream\.connectTimeout: expected a duration[^\n]*"10x"/);
});

test('validate: semantic errors (no authentication, unknown provider, duplicate name)', async () => {
  const bad = writeConfig(`
routes:
  - { name: a, match: { path: /a }, upstream: { url: "http://x" } }
  - { name: a, match: { path: /b }, authenticate: [nope], upstream: { url: "http://x" } }
`);
  const r = await runCli(['validate', '-c', bad]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /routes\[0\][^\n]*no authentication[^\n]*public: true/);
  assert.match(r.stderr, /routes\[1\][^\n]*"nope"/);
  assert.match(r.stderr, /routes\[1\][^\n]*duplicate|routes\[1\]\.name/);
});

test('validate: reports shadowed and overlapping routes', async () => {
  const f = writeConfig(`
routes:
  - { name: first, match: { path: "/u/:id" }, public: true, upstream: { url: "http://x" } }
  - { name: second, match: { path: "/u/:name" }, public: true, upstream: { url: "http://x" } }
`);
  const r = await runCli(['validate', '-c', f, '--strict']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /second/);
  assert.match(r.stderr, /first/);
});

test('validate: every error in one run (schema, semantic, preset, limits), each with file:line:col and path', async () => {
  const bad = writeConfig(`
listen: { port: eighty }
providers:
  entra:
    type: oidc
    preset: entra-id
    issuer: https://login.microsoftonline.com/contoso/v2.0
    audience: api
    hostedDomain: example.com
routes:
  - { name: a, match: { path: /a }, authenticate: [entra], upstream: { url: "http://x" } }
  - { name: a, match: { path: /b }, pubilc: true, upstream: { url: "http://x" } }
  - name: c
    match: { path: /c }
    public: true
    limits: [ { name: q, key: [ip], quota: 20/1ms } ]
    upstream: { url: "http://x" }
`);
  const r = await runCli(['validate', '-c', bad]);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split('\n');
  assert.deepEqual(lines.map((l) => l.slice(bad.length).replace(/: .*/, '')), [':2:11', ':7:5', ':9:5', ':12:7', ':12:37', ':16:37'], r.stderr);
  assert.match(lines[0]!, /listen\.port: expected integer, got string "eighty"/);
  assert.match(lines[1]!, /providers\.entra\.issuer: preset entra-id: the tenant in issuer must be/);
  assert.match(lines[2]!, /providers\.entra\.hostedDomain: `hostedDomain` applies only with preset: google/);
  assert.match(lines[3]!, /routes\[1\]\.name: duplicate route name "a"/);
  assert.match(lines[4]!, /routes\[1\]\.pubilc: unknown key "pubilc"; did you mean "public"\?/);
  assert.match(lines[5]!, /routes\[2\]\.limits\[0\]\.quota: quota period "1ms" is below the floor of 1s/);
  assert.equal(r.stdout.trim(), `${bad}: invalid: 6 errors`);
});

test('validate --strict: literal secrets are warnings that fail the run, said as such; never echoed', async () => {
  const secret = 'hunter2-literal';
  const f = writeConfig(`
providers:
  opaque: { type: introspection, endpoint: "https://id.example.com/introspect", clientId: gw, clientSecret: ${secret} }
listen:
  tls:
    cert: "\${env:TLS_CERT}"
    key: "-----BEGIN PRIVATE KEY----- literal"
routes:
  - { name: api, match: { path: /api/* }, authenticate: [opaque], upstream: { url: "http://x" } }
`);
  const env = { TLS_CERT: 'not read by validate' };
  const loose = await runCli(['validate', '-c', f], env);
  assert.equal(loose.code, 0, loose.stderr);
  assert.equal(loose.stdout.trim(), `${f}: valid (1 route, 2 warnings)`);
  const warnings = loose.stderr.trim().split('\n');
  assert.match(warnings[0]!, new RegExp(`^${f}:3:\\d+: warning: providers\\.opaque\\.clientSecret: secret written as a literal value`));
  assert.match(warnings[1]!, new RegExp(`^${f}:7:5: warning: listen\\.tls\\.key: secret written as a literal value`));
  assert.ok(!loose.stderr.includes(secret) && !loose.stderr.includes('BEGIN'), loose.stderr);
  const strict = await runCli(['validate', '-c', f, '--strict'], env);
  assert.equal(strict.code, 1);
  assert.equal(strict.stdout.trim(), `${f}: invalid: 2 warnings are errors under --strict`);
  assert.ok(!strict.stdout.includes('valid ('), strict.stdout);
});

test('validate --strict: a route made unreachable for some methods by a more specific one (GET /orders → 405)', async () => {
  const f = writeConfig(`
routes:
  - { name: create-order, match: { path: /orders, methods: [POST] }, public: true, upstream: { url: "http://x" } }
  - { name: orders, match: { path: /orders/* }, public: true, upstream: { url: "http://x" } }
`);
  const r = await runCli(['validate', '-c', f, '--strict']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`^${f}:4:5: warning: routes\\[1\\]: unreachable: route "orders" \\(/orders/\\*, any method\\) is unreachable for some methods: GET, HEAD, PUT, PATCH, DELETE, OPTIONS /orders answer 405 \\(Allow: POST\\)`));
  assert.match(r.stderr, /add a route for "\/orders" that takes those methods/);
  assert.equal(r.stdout.trim(), `${f}: invalid: 1 warning is an error under --strict`);
  // The explanation holds: explain (the gateway's own pipeline) answers 405 for GET /orders.
  assert.match((await runCli(['explain', '-c', f, '--method', 'GET', '--path', '/orders'])).stdout, /REFUSE 405 method_not_allowed/);
  const fixed = writeConfig(`
routes:
  - { name: create-order, match: { path: /orders, methods: [POST] }, public: true, upstream: { url: "http://x" } }
  - { name: list-orders, match: { path: /orders }, public: true, upstream: { url: "http://x" } }
  - { name: orders, match: { path: /orders/* }, public: true, upstream: { url: "http://x" } }
`);
  const ok = await runCli(['validate', '-c', fixed, '--strict']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.trim(), `${fixed}: valid (3 routes, 0 warnings)`);
});
