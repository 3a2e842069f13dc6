import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { startExample } from '../harness/examples.js';
import type { TestGateway } from '../harness/gateway.js';
import { rawRequest, type RawResponse } from '../harness/http.js';
import { makeTestPki } from '../harness/tls.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';

// The examples in examples/ that authenticate with API keys, SigV4, token introspection and client
// certificates, as the docs show them, run by a real gateway. Keys, secrets and certificates are made
// here; key files have the fields the docs show.

let upstream: TestUpstream;
before(async () => { upstream = await startUpstream(); });
after(() => upstream.close());

const code = (res: RawResponse): string => String(res.json().code);
const seen = (): Record<string, string | string[] | undefined> => upstream.seen.at(-1)!.headers;
const isoDate = (days: number): string => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

/** A key as `gatehouse apikey create` makes it, and its key-file entry (the fields docs/providers/api-keys.md shows). */
function apiKey(name: string, fields: Record<string, string | string[]> = {}): { key: string; id: string; entry: string } {
  const id = randomBytes(8).toString('hex');
  const key = `gh_${id}_${randomBytes(32).toString('base64url')}`;
  const hash = `sha256:${createHash('sha256').update(key).digest('hex')}`;
  // The id quoted, as the page says: unquoted, an id such as 1234e56789012345 would be read as a number.
  const lines = [`  - id: "${id}"`, `    name: ${name}`, ...Object.entries(fields).map(([k, v]) => `    ${k}: ${Array.isArray(v) ? `[${v.join(', ')}]` : v}`), `    hash: ${hash}`];
  return { key, id, entry: lines.join('\n') };
}
const keyFile = (...keys: { entry: string }[]): string => `keys:\n${keys.map((k) => k.entry).join('\n')}\n`;

describe('examples/api-keys.yaml (providers/api-keys.md)', () => {
  const reader = apiKey('partner-a', { owner: 'ops@partner-a.example', roles: ['reader'], scopes: ['orders.read'], groups: ['partners'], plan: 'gold', expires: isoDate(365), created: new Date().toISOString() });
  const writer = apiKey('partner-b', { roles: ['writer'] });
  const expired = apiKey('partner-c', { roles: ['reader'], expires: isoDate(-1) });
  let gw: TestGateway;
  before(async () => {
    gw = await startExample('api-keys.yaml', { files: { 'keys/partners.yaml': keyFile(reader, writer, expired) }, replace: { 'http://orders.internal:8080': upstream.url } });
  });
  after(() => gw.stop());

  it('a reader key in x-api-key passes, named by the entry; the key itself is not forwarded', async () => {
    const res = await rawRequest(gw.url, 'GET', '/orders/42', { 'x-api-key': reader.key });
    assert.equal(res.status, 200, res.body);
    assert.equal(seen()['x-gatehouse-subject'], 'partner-a');
    assert.equal(seen()['x-gatehouse-client-id'], reader.id);
    assert.equal(seen()['x-gatehouse-auth-method'], 'apikey');
    assert.equal(seen()['x-api-key'], undefined);
  });

  it('refusals as the table says: no key 401 token_missing, wrong secret 401 api_key_invalid, expired 401 api_key_expired, no role 403', async () => {
    const none = await rawRequest(gw.url, 'GET', '/orders/42');
    assert.deepEqual([none.status, code(none)], [401, 'token_missing']);
    const wrong = await rawRequest(gw.url, 'GET', '/orders/42', { 'x-api-key': `gh_${reader.id}_${randomBytes(32).toString('base64url')}` });
    assert.deepEqual([wrong.status, code(wrong)], [401, 'api_key_invalid']);
    const old = await rawRequest(gw.url, 'GET', '/orders/42', { 'x-api-key': expired.key });
    assert.deepEqual([old.status, code(old)], [401, 'api_key_expired']);
    const noRole = await rawRequest(gw.url, 'GET', '/orders/42', { 'x-api-key': writer.key });
    assert.deepEqual([noRole.status, code(noRole)], [403, 'no_rule_matched']);
  });
});

describe('examples/api-keys-plan.yaml (providers/api-keys.md: a plan with a daily quota)', () => {
  const gold = apiKey('partner-a', { roles: ['reader'], plan: 'gold' });
  const goldRotated = apiKey('partner-a', { roles: ['reader'], plan: 'gold' });
  const noPlan = apiKey('partner-b', { roles: ['reader'] });
  let gw: TestGateway;
  before(async () => {
    gw = await startExample('api-keys-plan.yaml', { files: { 'keys/partners.yaml': keyFile(gold, goldRotated, noPlan) }, replace: { 'http://orders.internal:8080': upstream.url } });
  });
  after(() => gw.stop());

  it('three requests a day on gold, shared by every key of the partner; the fourth is 429 quota_exhausted', async () => {
    for (const key of [gold, goldRotated, gold]) assert.equal((await rawRequest(gw.url, 'GET', '/orders/1', { 'x-api-key': key.key })).status, 200);
    const fourth = await rawRequest(gw.url, 'GET', '/orders/1', { 'x-api-key': goldRotated.key });
    assert.deepEqual([fourth.status, code(fourth)], [429, 'quota_exhausted']);
    for (let i = 0; i < 5; i++) assert.equal((await rawRequest(gw.url, 'GET', '/orders/1', { 'x-api-key': noPlan.key })).status, 200, 'no plan, no plan limits');
  });
});

describe('examples/limits-partner-plan.yaml (limits.md: a partner API key on a plan)', () => {
  const a = apiKey('partner-a');
  const b = apiKey('partner-b');
  let gw: TestGateway;
  before(async () => {
    gw = await startExample('limits-partner-plan.yaml', { files: { '/secrets/api-keys.yaml': keyFile(a, b) }, replace: { 'http://orders:8080': upstream.url } });
  });
  after(() => gw.stop());

  it('a burst of 20, then 429 rate_limited naming the limit; another partner has its own budget', async () => {
    const start = Date.now();
    for (let i = 0; i < 20; i++) assert.equal((await rawRequest(gw.url, 'GET', '/partner/orders/1', { 'x-api-key': a.key })).status, 200, `request ${i + 1}`);
    // 30 more at once: only what 10/s refilled meanwhile gets through.
    const more = await Promise.all(Array.from({ length: 30 }, () => rawRequest(gw.url, 'GET', '/partner/orders/1', { 'x-api-key': a.key })));
    const refilled = Math.ceil(((Date.now() - start) / 1000) * 10) + 1;
    assert.ok(more.filter((r) => r.status === 200).length <= refilled, `at most ${refilled} refilled`);
    const refused = more.find((r) => r.status !== 200);
    assert.ok(refused, 'the burst is spent');
    assert.deepEqual([refused.status, code(refused), refused.json().detail], [429, 'rate_limited', 'limit "burst"']);
    assert.match(String(refused.headers['ratelimit-policy']), /"burst";q=20/);
    assert.equal((await rawRequest(gw.url, 'GET', '/partner/orders/1', { 'x-api-key': b.key })).status, 200);
  });
});

describe('examples/aws-sigv4.yaml (providers/aws-sigv4.md)', () => {
  const secret = randomBytes(30).toString('base64');
  const tempSecret = randomBytes(30).toString('base64');
  const sessionToken = randomBytes(48).toString('base64');
  const ARN = 'arn:aws:iam::123456789012:role/orders-lambda';
  let gw: TestGateway;
  before(async () => {
    // The key file as the page shows it: a long-term key and a temporary credential.
    const credentials = [
      'AKIAORDERSLAMBDA0001:', `  secret: "${secret}"`, `  principal: ${ARN}`, '  roles: [orders.write]', '  scopes: [orders:read, orders:write]', '  groups: [batch]',
      '', 'ASIAREPORTSTEMP00001:', `  secret: "${tempSecret}"`, `  sessionToken: "${sessionToken}"`, `  expiresAt: ${isoDate(30)}T00:00:00Z`, '  roles: [reports.read]', '',
    ].join('\n');
    gw = await startExample('aws-sigv4.yaml', { files: { 'keys/aws-callers.yaml': credentials }, replace: { 'http://orders.internal:8080': upstream.url } });
  });
  after(() => gw.stop());

  async function signed(accessKeyId: string, secretAccessKey: string, body: string, opts: { sessionToken?: string } = {}): Promise<Record<string, string>> {
    const host = new URL(gw.url).host;
    const signer = new SignatureV4({
      service: 'execute-api', region: 'us-east-1', sha256: Hash.bind(null, 'sha256'),
      credentials: { accessKeyId, secretAccessKey, ...(opts.sessionToken ? { sessionToken: opts.sessionToken } : {}) },
    });
    const req = await signer.sign(new HttpRequest({ method: 'POST', protocol: 'http:', hostname: host.split(':')[0]!, port: Number(host.split(':')[1]), path: '/orders', headers: { host, 'content-type': 'application/json' }, body }));
    return req.headers;
  }

  it('a request signed by the SDK signer with the writer key passes as its principal', async () => {
    const body = JSON.stringify({ sku: 'A-42', qty: 1 });
    const res = await rawRequest(gw.url, 'POST', '/orders', await signed('AKIAORDERSLAMBDA0001', secret, body), body);
    assert.equal(res.status, 200, res.body);
    assert.equal(seen()['x-gatehouse-subject'], ARN);
    assert.equal(seen()['x-gatehouse-auth-method'], 'sigv4');
    assert.equal(seen().authorization, undefined, 'Authorization is not forwarded');
  });

  it('refuses a changed body, a temporary key without its session token, and a key without the role', async () => {
    const body = JSON.stringify({ sku: 'A-42', qty: 1 });
    // The SDK signs x-amz-content-sha256: the signature holds, the body does not match that hash.
    const headers = await signed('AKIAORDERSLAMBDA0001', secret, body);
    assert.ok(headers['x-amz-content-sha256']);
    const changed = await rawRequest(gw.url, 'POST', '/orders', headers, body.replace('1', '9'));
    assert.deepEqual([changed.status, code(changed)], [401, 'payload_hash_mismatch']);
    const tokenless = await rawRequest(gw.url, 'POST', '/orders', await signed('ASIAREPORTSTEMP00001', tempSecret, body), body);
    assert.deepEqual([tokenless.status, code(tokenless)], [401, 'unknown_access_key']);
    const reports = await rawRequest(gw.url, 'POST', '/orders', await signed('ASIAREPORTSTEMP00001', tempSecret, body, { sessionToken }), body);
    assert.deepEqual([reports.status, code(reports)], [403, 'no_rule_matched']);
  });
});

describe('examples/introspection.yaml (providers/introspection.md)', () => {
  const secret = randomBytes(24).toString('base64url');
  // What the authorization server knows: opaque tokens and their RFC 7662 answers.
  const answers = new Map<string, Record<string, unknown>>();
  let as: Server;
  let issuer: string;
  let gw: TestGateway;
  const calls: { authorization?: string; body: string }[] = [];

  const active = (extra: Record<string, unknown> = {}): Record<string, unknown> => {
    const t = Math.floor(Date.now() / 1000);
    return { active: true, scope: 'orders.read', client_id: 'orders-batch', sub: 'orders-batch', aud: 'api://orders', iss: issuer, exp: t + 600, iat: t, token_type: 'Bearer', ...extra };
  };
  const opaque = (answer: Record<string, unknown>): string => {
    const token = randomBytes(24).toString('base64url');
    answers.set(token, answer);
    return token;
  };

  before(async () => {
    as = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => {
        if (req.url === '/.well-known/openid-configuration') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer, introspection_endpoint: `${issuer}/oauth2/introspect` }));
          return;
        }
        if (req.url !== '/oauth2/introspect' || req.method !== 'POST') { res.writeHead(404).end(); return; }
        calls.push({ authorization: req.headers.authorization, body });
        if (req.headers.authorization !== `Basic ${Buffer.from(`gatehouse:${encodeURIComponent(secret)}`).toString('base64')}`) {
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
          return;
        }
        const token = new URLSearchParams(body).get('token') ?? '';
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answers.get(token) ?? { active: false }));
      });
    });
    await new Promise<void>((resolve) => as.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(as.address() as AddressInfo).port}`;
    gw = await startExample('introspection.yaml', {
      files: { '/etc/gatehouse/secrets/introspection-secret': `${secret}\n` },
      replace: { 'https://id.example.com': issuer, 'http://orders.internal:8080': upstream.url },
    });
  });
  after(async () => { await gw.stop(); as.closeAllConnections(); await new Promise((resolve) => as.close(resolve)); });

  const get = (token: string): Promise<RawResponse> => rawRequest(gw.url, 'GET', '/orders/1', { authorization: `Bearer ${token}` });

  it('an active token for api://orders with orders.read passes; the gateway authenticates with client_secret_basic', async () => {
    const res = await get(opaque(active()));
    assert.equal(res.status, 200, res.body);
    assert.equal(seen()['x-gatehouse-subject'], 'orders-batch');
    assert.equal(seen()['x-gatehouse-auth-method'], 'introspection');
    assert.match(calls.at(-1)!.authorization ?? '', /^Basic /);
  });

  it('outcomes as the table says: inactive 401, other audience 401, no scope 403, JWT-shaped not claimed 401, server down 503', async () => {
    const inactive = await get(opaque({ active: false }));
    assert.deepEqual([inactive.status, code(inactive)], [401, 'token_inactive']);
    const other = await get(opaque(active({ aud: 'api://billing' })));
    assert.deepEqual([other.status, code(other)], [401, 'audience_mismatch']);
    const noScope = await get(opaque(active({ scope: 'orders.write' })));
    assert.deepEqual([noScope.status, code(noScope)], [403, 'no_rule_matched']);
    const jwtShaped = await get('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln');
    assert.deepEqual([jwtShaped.status, code(jwtShaped)], [401, 'token_missing']);
    as.closeAllConnections();
    await new Promise((resolve) => as.close(resolve));
    const down = await get(opaque(active()));
    assert.deepEqual([down.status, code(down)], [503, 'introspection_failed']);
  });
});

describe('examples/mtls.yaml (providers/mtls.md)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-example-mtls-'));
  const file = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] }); };
  const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const ca = (name: string, cn: string): string => {
    openssl('req', '-x509', ...EC, '-keyout', file(`${name}.key`), '-out', file(`${name}.pem`), '-days', '2', '-subj', `/CN=${cn}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
    return readFileSync(file(`${name}.pem`), 'utf8');
  };
  // As the page's "Try it" makes them: a client certificate with a CN, a SPIFFE ID and clientAuth.
  const client = (caName: string, name: string, cn: string, san?: string): { cert: string; key: string } => {
    openssl('req', ...EC, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', `/CN=${cn}`);
    writeFileSync(file(`${name}.ext`), ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth', ...(san ? [`subjectAltName=${san}`] : [])].join('\n'));
    openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file(`${caName}.pem`), '-CAkey', file(`${caName}.key`), '-CAcreateserial', '-days', '1', '-extfile', file(`${name}.ext`), '-out', file(`${name}.pem`));
    return { cert: readFileSync(file(`${name}.pem`), 'utf8'), key: readFileSync(file(`${name}.key`), 'utf8') };
  };
  let pki: ReturnType<typeof makeTestPki>;
  let billing: { cert: string; key: string }, ops: { cert: string; key: string }, foreign: { cert: string; key: string };
  let gw: TestGateway;

  before(async () => {
    pki = makeTestPki();
    const services = ca('services', 'Example Services CA');
    const people = ca('people', 'Example People CA');
    ca('other', 'Someone Else CA');
    billing = client('services', 'billing', 'billing-api', 'URI:spiffe://prod.example/ns/billing/sa/api');
    ops = client('people', 'ops', 'ops-alice', 'URI:spiffe://prod.example/ns/ops/sa/alice');
    foreign = client('other', 'foreign', 'billing-api', 'URI:spiffe://prod.example/ns/billing/sa/api');
    gw = await startExample('mtls.yaml', {
      files: { '/etc/gatehouse/tls/server.pem': pki.certPem, '/etc/gatehouse/tls/server.key': pki.keyPem, '/etc/gatehouse/tls/clients-ca.pem': services + people },
      replace: { 'http://invoices.internal:8080': upstream.url },
    });
  });
  after(async () => { await gw.stop(); rmSync(dir, { recursive: true, force: true }); rmSync(pki.dir, { recursive: true, force: true }); });

  function get(cert?: { cert: string; key: string }): Promise<{ status: number; json(): Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      https.request({ host: '127.0.0.1', port: Number(new URL(gw.url).port), path: '/invoices/42', servername: 'localhost', ca: pki.caPem, agent: false, ...cert }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => resolve({ status: res.statusCode ?? 0, json: () => JSON.parse(body) as Record<string, unknown> }));
      }).on('error', reject).end();
    });
  }

  it('a billing workload\'s certificate passes with its SPIFFE ID as subject and role billing', async () => {
    const res = await get(billing);
    assert.equal(res.status, 200);
    assert.equal(seen()['x-gatehouse-subject'], 'spiffe://prod.example/ns/billing/sa/api');
    assert.equal(seen()['x-gatehouse-issuer'], 'Example Services CA');
    assert.equal(seen()['x-gatehouse-roles'], 'billing');
  });

  it('refuses ops (403: role ops only), another CA\'s certificate (401 client_certificate_invalid) and no certificate (401)', async () => {
    const opsRes = await get(ops);
    assert.deepEqual([opsRes.status, opsRes.json().code], [403, 'no_rule_matched']);
    const foreignRes = await get(foreign);
    assert.deepEqual([foreignRes.status, foreignRes.json().code], [401, 'client_certificate_invalid']);
    const none = await get();
    assert.equal(none.status, 401);
    // The page promises a 401 whose detail asks for a certificate (the code may be token_missing or a dedicated one).
    assert.match(`${String(none.json().code)} ${String(none.json().detail)}`, /certificate/);
  });
});
