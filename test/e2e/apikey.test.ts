import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { rawRequest } from '../harness/http.js';
import { runCli } from '../harness/run-cli.js';
import { formatApiKeyHash, generateApiKey } from '../../src/authn/apikey/format.js';

// The docs example "a partner API key on a plan with a daily quota", through a real gateway.
const run = promisify(execFile);
let upstream: TestUpstream;
let gw: TestGateway;
let keysFile: string;
let created: { key: string; entry: Record<string, unknown>; stdout: string; stderr: string };
const keys: Record<string, string> = {};

/** curl, as a partner would call it: status and body. */
async function curl(path: string, ...headers: string[]): Promise<{ status: number; body: string }> {
  const args = ['-s', '-o', '-', '-w', '\n%{http_code}', ...headers.flatMap((h) => ['-H', h]), gw.url + path];
  const { stdout } = await run('curl', args);
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

function mint(fields: Record<string, unknown>): { key: string; entry: Record<string, unknown> } {
  const { id, key } = generateApiKey();
  return { key, entry: { id, ...fields, hash: formatApiKeyHash(key) } };
}

before(async () => {
  const r = await runCli(['apikey', 'create', '--name', 'partner-a', '--roles', 'reader', '--owner', 'ops@partner-a.example', '--plan', 'gold']);
  assert.equal(r.code, 0, r.stderr);
  const entryLine = r.stderr.split('\n').find((l) => l.startsWith('- {'));
  assert.ok(entryLine, r.stderr);
  created = { key: r.stdout.trim(), entry: JSON.parse(entryLine.slice(2)) as Record<string, unknown>, stdout: r.stdout, stderr: r.stderr };
  keys.partner = created.key;
  const rotated = mint({ name: 'partner-a', roles: ['reader'], plan: 'gold' });
  const writer = mint({ name: 'writer-co', roles: ['writer'] });
  const expired = mint({ name: 'old-co', roles: ['reader'], expires: '2020-01-01' });
  Object.assign(keys, { rotated: rotated.key, writer: writer.key, expired: expired.key });
  keysFile = join(mkdtempSync(join(tmpdir(), 'gatehouse-keys-')), 'partners.yaml');
  writeFileSync(keysFile, `keys:\n${[created.entry, rotated.entry, writer.entry, expired.entry].map((e) => `  - ${JSON.stringify(e)}`).join('\n')}\n`);

  upstream = await startUpstream();
  gw = await startGateway({
    providers: { partners: { type: 'api-key', keys: keysFile } },
    plans: { gold: { assign: [{ claims: { plan: 'gold' } }], limits: [{ name: 'daily', key: ['apikey'], quota: '3/day' }] } },
    routes: [
      { name: 'orders', match: { path: '/orders/*' }, authenticate: ['partners'], allow: [{ roles: ['reader'] }], upstream: { url: upstream.url } },
      { name: 'metered', match: { path: '/metered/*' }, authenticate: ['partners'], allow: [{ roles: ['reader'] }], plan: true, upstream: { url: upstream.url } },
    ],
  });
});
after(async () => { await gw.stop(); await upstream.close(); });

test('apikey create prints the key once on stdout and a loadable entry holding only its hash', () => {
  assert.match(created.stdout, /^gh_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\n$/);
  assert.ok(!created.stderr.includes(created.key.slice(-43)), 'the secret is not repeated on stderr');
  assert.deepEqual(Object.keys(created.entry).sort(), ['created', 'hash', 'id', 'name', 'owner', 'plan', 'roles']);
  assert.equal(created.entry.hash, formatApiKeyHash(created.key));
});

test('a valid key (curl) reaches the upstream as its identity', async () => {
  const res = await curl('/orders/1', `x-api-key: ${keys.partner}`);
  assert.equal(res.status, 200, res.body);
  const seen = upstream.seen.at(-1)!;
  assert.equal(seen.headers['x-gatehouse-subject'], 'partner-a');
  assert.equal(seen.headers['x-gatehouse-auth-method'], 'apikey');
  assert.equal(seen.headers['x-gatehouse-client-id'], created.entry.id);
  assert.equal(seen.headers['x-gatehouse-roles'], 'reader');
});

test('rotation: the second key of the same name is accepted as the same subject', async () => {
  assert.equal((await curl('/orders/2', `x-api-key: ${keys.rotated}`)).status, 200);
  assert.equal(upstream.seen.at(-1)!.headers['x-gatehouse-subject'], 'partner-a');
});

test('refusals: wrong, malformed and expired keys are 401 with their code and no bearer challenge', async () => {
  const secret = keys.partner!.slice(-43);
  const wrong = keys.partner!.replace(secret, (secret[0] === 'A' ? 'B' : 'A') + secret.slice(1));
  for (const [key, code] of [[wrong, 'api_key_invalid'], ['not-a-key', 'api_key_invalid'], [keys.expired!, 'api_key_expired']] as const) {
    const res = await rawRequest(gw.url, 'GET', '/orders/1', { 'x-api-key': key });
    assert.equal(res.status, 401, key);
    assert.equal(res.json().code, code);
    assert.equal(res.headers['www-authenticate'], undefined);
    assert.ok(!res.body.includes(key), 'the key is not echoed');
  }
  const curled = await curl('/orders/1', `x-api-key: ${wrong}`);
  assert.equal(curled.status, 401);
  assert.equal((JSON.parse(curled.body) as { code: string }).code, 'api_key_invalid');
  assert.equal((await curl('/orders/1')).status, 401, 'no key at all');
});

test('a valid key without the role is 403 no_rule_matched', async () => {
  const res = await rawRequest(gw.url, 'GET', '/orders/1', { 'x-api-key': keys.writer });
  assert.equal(res.status, 403);
  assert.equal(res.json().code, 'no_rule_matched');
});

test('the audit line names the API key identity and never contains a key', async () => {
  await curl('/orders/audit', `x-api-key: ${keys.partner}`);
  const line = await gw.auditLine((l) => l.path === '/orders/audit');
  assert.ok(line);
  const identity = line.identity as Record<string, unknown>;
  assert.equal(identity.auth_method, 'apikey');
  assert.equal(identity.subject, 'partner-a');
  assert.equal(identity.provider, 'partners');
  const refused = await gw.auditLine((l) => (l.authn as { reason?: string } | undefined)?.reason === 'api_key_invalid');
  assert.equal((refused?.authn as { provider?: string }).provider, 'partners');
  const all = readFileSync(join(gw.dir, 'audit.log'), 'utf8');
  for (const key of Object.values(keys)) assert.ok(!all.includes(key.slice(-43)), 'no secret in the audit trail');
});

test('plan gold: a daily quota of 3 per key name, then 429 quota_exhausted (shared by rotated keys)', async () => {
  const untilMidnight = 86_400_000 - (Date.now() % 86_400_000);
  if (untilMidnight < 10_000) await new Promise((r) => setTimeout(r, untilMidnight + 50));
  assert.equal((await curl('/metered/a', `x-api-key: ${keys.partner}`)).status, 200);
  assert.equal((await curl('/metered/a', `x-api-key: ${keys.rotated}`)).status, 200);
  assert.equal((await curl('/metered/a', `x-api-key: ${keys.partner}`)).status, 200);
  const over = await curl('/metered/a', `x-api-key: ${keys.partner}`);
  assert.equal(over.status, 429);
  assert.equal((JSON.parse(over.body) as { code: string }).code, 'quota_exhausted');
  assert.equal((await curl('/orders/1', `x-api-key: ${keys.partner}`)).status, 200, 'routes without plan: true are not metered');
});

test('a gateway whose key file is missing is not ready and refuses keys with 503 provider_unavailable', async () => {
  const broken = await startGateway({
    providers: { partners: { type: 'api-key', keys: 'missing/keys.yaml' } },
    routes: [{ name: 'orders', match: { path: '/orders/*' }, authenticate: ['partners'], upstream: { url: upstream.url } }],
  });
  try {
    const ready = await rawRequest(broken.adminUrl, 'GET', '/readyz');
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.json().providers, { partners: false });
    const res = await rawRequest(broken.url, 'GET', '/orders/1', { 'x-api-key': keys.partner });
    assert.equal(res.status, 503);
    assert.equal(res.json().code, 'provider_unavailable');
  } finally {
    await broken.stop();
  }
  assert.equal((await rawRequest(gw.adminUrl, 'GET', '/readyz')).status, 200);
});

test('the key header is not forwarded upstream', async () => {
  await curl('/orders/strip', `x-api-key: ${keys.partner}`);
  assert.equal(upstream.seen.at(-1)!.headers['x-api-key'], undefined);
});
