import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';

// Real clients through a real gateway: curl --aws-sigv4, and the AWS SDK's signer over undici.
const run = promisify(execFile);
const AKID = 'AKIAGATEHOUSEE2E0001';
const SECRET = 'e2eSecretKey/K7MDENG+bPxRfiCYEXAMPLEKEY';
const TEMP_AKID = 'ASIAGATEHOUSEE2E0002';
const TEMP_SECRET = 'e2eTemporarySecret/EXAMPLE';
const TOKEN = 'FwoGZXIvYXdzEXAMPLE//////////wEaDSESSIONTOKEN+/=';
const ARN = 'arn:aws:iam::123456789012:role/orders-lambda';

let upstream: TestUpstream;
let gw: TestGateway;
const bodies: Buffer[] = [];

before(async () => {
  upstream = await startUpstream((req, res, seen) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      bodies.push(body);
      seen.bodyBytes = body.length;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
        sha256: createHash('sha256').update(body).digest('hex'), bytes: body.length,
        subject: req.headers['x-gatehouse-subject'], method: req.headers['x-gatehouse-auth-method'], url: req.url,
        credentials: ['authorization', 'x-amz-security-token'].filter((h) => req.headers[h] !== undefined),
      }));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), 'sigv4-e2e-'));
  const keys = join(dir, 'aws-keys.yaml');
  writeFileSync(keys, [
    `${AKID}:`, `  secret: "${SECRET}"`, `  principal: ${ARN}`, '  roles: [orders.write]',
    `${TEMP_AKID}:`, `  secret: "${TEMP_SECRET}"`, `  sessionToken: "${TOKEN}"`, '  roles: [orders.write]', '',
  ].join('\n'));
  const sigv4 = { type: 'sigv4', service: 'execute-api', region: 'us-east-1', credentials: keys };
  gw = await startGateway({
    providers: { 'aws-callers': sigv4, 'aws-uploads': { ...sigv4, allowUnsignedPayload: true } },
    routes: [
      { name: 'api', match: { path: '/api/*' }, authenticate: ['aws-callers'], allow: [{ name: 'writers', roles: ['orders.write'] }], upstream: { url: upstream.url } },
      { name: 'uploads', match: { path: '/uploads/*' }, authenticate: ['aws-uploads'], upstream: { url: upstream.url } },
    ],
  });
});
after(async () => { await gw.stop(); await upstream.close(); });

interface Reply { status: number; json: Record<string, unknown> }

async function curl(args: string[], user = `${AKID}:${SECRET}`): Promise<Reply> {
  const { stdout } = await run('curl', ['-s', '-m', '10', '--aws-sigv4', 'aws:amz:us-east-1:execute-api', '--user', user, '-w', '\n%{http_code}', ...args]);
  const nl = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(nl + 1)), json: JSON.parse(stdout.slice(0, nl)) as Record<string, unknown> };
}

interface Sign { secret?: string; akid?: string; token?: string; at?: number; region?: string; presign?: number; unsignable?: string[]; applyChecksum?: boolean }
interface Msg { method?: string; path?: string; query?: Record<string, string>; headers?: Record<string, string>; body?: string | Buffer }

const enc = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Sign with the AWS SDK's SignatureV4 (Node hash), as a Lambda or EC2 caller would. */
async function sdkSign(msg: Msg, s: Sign = {}): Promise<HttpRequest> {
  const u = new URL(gw.url);
  const signer = new SignatureV4({
    service: 'execute-api', region: s.region ?? 'us-east-1', sha256: Hash.bind(null, 'sha256'), applyChecksum: s.applyChecksum ?? true,
    credentials: { accessKeyId: s.akid ?? AKID, secretAccessKey: s.secret ?? SECRET, ...(s.token ? { sessionToken: s.token } : {}) },
  });
  const req = new HttpRequest({
    method: msg.method ?? 'GET', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: msg.path ?? '/api/orders',
    query: msg.query ?? {}, headers: { host: u.host, ...msg.headers }, ...(msg.body !== undefined ? { body: msg.body } : {}),
  });
  const signingDate = new Date(s.at ?? Date.now());
  return (s.presign !== undefined
    ? await signer.presign(req, { signingDate, expiresIn: s.presign })
    : await signer.sign(req, { signingDate, ...(s.unsignable ? { unsignableHeaders: new Set(s.unsignable) } : {}) })) as HttpRequest;
}

/** Send a signed request over undici; `tamper` changes it in transit. */
async function send(r: HttpRequest, tamper: { body?: string | Buffer; headers?: Record<string, string> } = {}): Promise<Reply> {
  const query = Object.entries(r.query).map(([k, v]) => `${enc(k)}=${enc(String(v))}`).join('&');
  const { host: _host, ...headers } = r.headers;
  const res = await request(`${gw.url}${r.path}${query ? `?${query}` : ''}`, {
    method: r.method as 'GET', headers: { ...headers, ...tamper.headers }, body: tamper.body ?? (r.body as string | Buffer | undefined),
    headersTimeout: 10_000, bodyTimeout: 10_000,
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

const sdk = async (msg: Msg = {}, s: Sign = {}): Promise<Reply> => send(await sdkSign(msg, s));

function refused(reply: Reply, code: string): void {
  assert.equal(reply.status, 401, `${code}: ${JSON.stringify(reply.json)}`);
  assert.equal(reply.json.code, code);
}

test('curl --aws-sigv4: GET passes with the key file identity; a wrong secret is signature_invalid', async () => {
  const ok = await curl([`${gw.url}/api/orders?page=2`]);
  assert.equal(ok.status, 200, JSON.stringify(ok.json));
  assert.equal(ok.json.subject, ARN);
  assert.equal(ok.json.method, 'sigv4');
  refused(await curl([`${gw.url}/api/orders`], `${AKID}:not-the-secret`), 'signature_invalid');
});

test('curl --aws-sigv4: a POST body is verified and the upstream receives the exact bytes', async () => {
  const body = Buffer.concat([randomBytes(4096), Buffer.from('\r\n\0end')]);
  const file = join(mkdtempSync(join(tmpdir(), 'sigv4-body-')), 'body.bin');
  writeFileSync(file, body);
  const ok = await curl(['-H', 'content-type: application/octet-stream', '--data-binary', `@${file}`, `${gw.url}/api/orders`]);
  assert.equal(ok.status, 200, JSON.stringify(ok.json));
  assert.equal(ok.json.sha256, createHash('sha256').update(body).digest('hex'));
  assert.ok(bodies.at(-1)!.equals(body));
});

test('AWS SDK signer over undici: GET, POST with body, presigned URL, session token', async () => {
  assert.equal((await sdk({ query: { status: 'open', 'filter[]': 'a b' } })).status, 200);
  const json = JSON.stringify({ sku: 'ü-42', qty: 3 });
  const post = await sdk({ method: 'POST', body: json, headers: { 'content-type': 'application/json' } });
  assert.equal(post.status, 200, JSON.stringify(post.json));
  assert.equal(post.json.sha256, createHash('sha256').update(json).digest('hex'));
  assert.equal(bodies.at(-1)!.toString(), json);
  const presigned = await sdk({ query: { page: '1' } }, { presign: 60 });
  assert.equal(presigned.status, 200, JSON.stringify(presigned.json));
  assert.match(String(presigned.json.url), /X-Amz-Signature=/, 'the query string reaches the upstream unchanged');
  const session = await sdk({}, { akid: TEMP_AKID, secret: TEMP_SECRET, token: TOKEN });
  assert.equal(session.status, 200, JSON.stringify(session.json));
  assert.deepEqual(session.json.credentials, [], 'neither the signature nor the session token reaches the upstream');
  assert.equal((await sdk({}, { akid: TEMP_AKID, secret: TEMP_SECRET, token: TOKEN, presign: 60 })).status, 200);
});

test('refusals, each with its code', async () => {
  refused(await sdk({}, { secret: 'wrong' }), 'signature_invalid');
  refused(await sdk({}, { at: Date.now() - 10 * 60_000 }), 'request_expired');
  refused(await sdk({}, { at: Date.now() - 10 * 60_000, presign: 60 }), 'request_expired');
  refused(await sdk({}, { region: 'eu-west-1' }), 'credential_scope_invalid');
  refused(await sdk({}, { akid: 'AKIANOBODYKNOWS00' }), 'unknown_access_key');
  refused(await sdk({}, { unsignable: ['host'] }), 'signed_headers_invalid');
  refused(await sdk({}, { akid: TEMP_AKID, secret: TEMP_SECRET }), 'unknown_access_key');
  const signedHeader = await sdkSign({ headers: { 'x-order-id': '42' } });
  refused(await send(signedHeader, { headers: { 'x-order-id': '43' } }), 'signature_invalid');
  refused(await sdk({ method: 'PUT', body: 'data', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }), 'unsigned_payload_not_allowed');
});

test('tampered bodies: payload_hash_mismatch with x-amz-content-sha256, signature_invalid without', async () => {
  const declared = await sdkSign({ method: 'POST', body: '{"qty":1}' });
  refused(await send(declared, { body: '{"qty":9}' }), 'payload_hash_mismatch');
  const bare = await sdkSign({ method: 'POST', body: '{"qty":1}' }, { applyChecksum: false });
  assert.equal(bare.headers['x-amz-content-sha256'], undefined);
  refused(await send(bare, { body: '{"qty":9}' }), 'signature_invalid');
  const line = await gw.auditLine((l) => (l.authn as { reason?: string } | undefined)?.reason === 'payload_hash_mismatch');
  assert.deepEqual(line?.authn, { result: 'refused', reason: 'payload_hash_mismatch', provider: 'aws-callers' });
  assert.equal(JSON.stringify(await gw.audit()).includes(SECRET), false, 'no secret in the audit trail');
});

test('allowUnsignedPayload: UNSIGNED-PAYLOAD streams through unread', async () => {
  const body = randomBytes(64 * 1024);
  const reply = await sdk({ method: 'PUT', path: '/uploads/blob', body, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
  assert.equal(reply.status, 200, JSON.stringify(reply.json));
  assert.equal(reply.json.sha256, createHash('sha256').update(body).digest('hex'));
});
