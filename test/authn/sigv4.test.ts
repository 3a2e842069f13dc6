import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { buildSigV4Authenticator } from '../../src/authn/sigv4/sigv4.js';
import { KeyStore } from '../../src/authn/sigv4/keys.js';
import { CanonicalRequestBuilder, deriveSigningKey, sha256Hex, signature, stringToSign } from '../../src/authn/sigv4/canonical.js';
import { basicDate } from '../../src/authn/sigv4/parse.js';
import { ABSENT, PENDING, type AuthnOutcome, type AuthnRequest } from '../../src/authn/authenticator.js';
import { makeIdentity } from '../../src/identity/identity.js';
import { authenticateWith, keyFileEvents } from '../harness/authn.js';

// The authenticator against requests signed by the AWS SDK's own signer, clock pinned.
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const AKID = 'AKIAGATEHOUSETEST01';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYGATEHOUSE';
const TEMP_AKID = 'ASIAGATEHOUSETEMP01';
const TEMP_SECRET = 'tempSecretKey/EXAMPLE';
const TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLETOKEN//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==';
const ARN = 'arn:aws:iam::123456789012:role/orders-lambda';

function writeKeys(keys: Record<string, unknown>, dir = mkdtempSync(join(tmpdir(), 'sigv4-'))): string {
  const file = join(dir, 'keys.yaml');
  writeFileSync(file, JSON.stringify(keys));
  return file;
}
const KEYS = {
  [AKID]: { secret: SECRET, principal: ARN, roles: ['orders.write'], scopes: ['orders:read'] },
  [TEMP_AKID]: { secret: TEMP_SECRET, sessionToken: TOKEN, expiresAt: new Date(NOW + 3600_000).toISOString() },
};
const store = new KeyStore('aws', writeKeys(KEYS));
// The file is read at start (and watched until close).
before(async () => { assert.equal(await store.start(), true); });
after(() => store.close());
const make = (opts: { allowUnsignedPayload?: boolean; keys?: KeyStore; now?: number } = {}) => buildSigV4Authenticator('aws', {
  service: 'execute-api', region: 'us-east-1', clockSkewMs: 300_000, allowUnsignedPayload: opts.allowUnsignedPayload ?? false,
  keys: opts.keys ?? store, now: () => opts.now ?? NOW,
});
const auth = make();

interface Sign {
  akid?: string; secret?: string; token?: string; at?: number; region?: string; service?: string;
  applyChecksum?: boolean; presign?: number; unsignableHeaders?: string[];
}
interface Send { method?: string; path?: string; query?: Record<string, string>; headers?: Record<string, string>; body?: string }

const enc = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Sign with the SDK, then hand the result to the authenticator the way the pipeline would. */
async function signed(send: Send = {}, s: Sign = {}): Promise<AuthnRequest & { reads: () => number }> {
  const signer = new SignatureV4({
    service: s.service ?? 'execute-api', region: s.region ?? 'us-east-1', sha256: Hash.bind(null, 'sha256'), applyChecksum: s.applyChecksum ?? true,
    credentials: { accessKeyId: s.akid ?? AKID, secretAccessKey: s.secret ?? SECRET, ...(s.token ? { sessionToken: s.token } : {}) },
  });
  const request = new HttpRequest({
    method: send.method ?? 'GET', protocol: 'https:', hostname: 'api.example.com', path: send.path ?? '/orders',
    query: send.query ?? {}, headers: { host: 'api.example.com', ...send.headers }, ...(send.body !== undefined ? { body: send.body } : {}),
  });
  const signingDate = new Date(s.at ?? NOW);
  const out = s.presign !== undefined
    ? await signer.presign(request, { signingDate, expiresIn: s.presign })
    : await signer.sign(request, { signingDate, ...(s.unsignableHeaders ? { unsignableHeaders: new Set(s.unsignableHeaders) } : {}) });
  return toAuthn(out as HttpRequest, send.body);
}

function toAuthn(r: HttpRequest, body = ''): AuthnRequest & { reads: () => number } {
  let reads = 0;
  const headers: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(r.headers)) headers[k.toLowerCase()] = v;
  const query = Object.entries(r.query).flatMap(([k, v]) => (Array.isArray(v) ? v : [v ?? '']).map((x) => `${enc(k)}=${enc(x)}`)).join('&');
  return {
    method: r.method, rawPath: r.path, path: r.path, query, headers, reads: () => reads,
    readBody: () => { reads++; return Promise.resolve(Buffer.from(body)); },
  };
}

async function code(outcome: Promise<AuthnOutcome | undefined>): Promise<string> {
  const o = await outcome;
  assert.ok(o, 'the request is claimed');
  return o.ok ? 'ok' : o.refusal.code;
}

test('no SigV4 credential is "not mine"', async () => {
  const req = await signed();
  const notMine = [
    { ...req, headers: { host: 'api.example.com' } },
    { ...req, headers: { host: 'a', authorization: 'Bearer x.y.z' } },
    { ...req, headers: { host: 'a' }, query: 'q=X-Amz-Algorithm=AWS4-HMAC-SHA256' },
  ];
  for (const r of notMine) {
    assert.equal(auth.probe(r), ABSENT, 'known without waiting');
    assert.equal(await auth.authenticate(r), ABSENT);
    assert.equal(await authenticateWith(auth, r), undefined);
  }
  // A signed request needs the body (payload hash): always decided by authenticate.
  assert.equal(auth.probe(req), PENDING);
});

test('an SDK-signed request yields the key file identity', async () => {
  const o = await authenticateWith(auth, await signed());
  assert.ok(o?.ok);
  assert.deepEqual(o.identity, makeIdentity({
    provider: 'aws', subject: ARN, clientId: AKID, roles: ['orders.write'], groups: [], scopes: ['orders:read'], authMethod: 'sigv4',
    claims: { arn: ARN, access_key_id: AKID, session: false },
  }));
});

test('query and path are canonicalized as the SDK does (unsorted, encoded, dot segments)', async () => {
  const req = await signed({ path: '/orders/a%20b/./x', query: { z: '1', a: 'x y', 'b~': 'ü' } });
  assert.equal(await code(authenticateWith(auth, req)), 'ok');
  assert.equal(await code(authenticateWith(auth, { ...req, query: req.query.split('&').reverse().join('&') })), 'ok');
  assert.equal(await code(authenticateWith(auth, { ...req, query: `${req.query}&extra=1` })), 'signature_invalid');
});

test('malformed credentials are token_malformed', async () => {
  const req = await signed();
  const bad = (authorization: string) => authenticateWith(auth, { ...req, headers: { ...req.headers, authorization } });
  assert.equal(await code(bad('AWS4-HMAC-SHA256 Credential=x')), 'token_malformed');
  assert.equal(await code(bad(String(req.headers.authorization).replace('AWS4-HMAC-SHA256', 'AWS4-ECDSA-P256-SHA256'))), 'token_malformed');
  assert.equal(await code(bad(String(req.headers.authorization).replace(/Signature=\w+/, 'Signature=zz'))), 'token_malformed');
  assert.equal(await code(authenticateWith(auth, { ...req, query: 'X-Amz-Algorithm=AWS4-HMAC-SHA256' })), 'token_malformed');
  assert.equal(await code(authenticateWith(auth, { ...req, headers: { ...req.headers, 'x-amz-date': 'yesterday' } })), 'token_malformed');
});

test('refusals: secret, time, scope, key', async () => {
  assert.equal(await code(authenticateWith(auth, await signed({}, { secret: 'wrong' }))), 'signature_invalid');
  assert.equal(await code(authenticateWith(auth, await signed({}, { at: NOW - 10 * 60_000 }))), 'request_expired');
  assert.equal(await code(authenticateWith(auth, await signed({}, { at: NOW + 10 * 60_000 }))), 'request_expired');
  assert.equal(await code(authenticateWith(auth, await signed({}, { at: NOW - 4 * 60_000 }))), 'ok');
  assert.equal(await code(authenticateWith(auth, await signed({}, { region: 'eu-west-1' }))), 'credential_scope_invalid');
  assert.equal(await code(authenticateWith(auth, await signed({}, { service: 'lambda' }))), 'credential_scope_invalid');
  assert.equal(await code(authenticateWith(auth, await signed({}, { akid: 'AKIANOBODY' }))), 'unknown_access_key');
  const req = await signed();
  const otherDay = String(req.headers.authorization).replace('/20260115/', '/20260114/');
  assert.equal(await code(authenticateWith(auth, { ...req, headers: { ...req.headers, authorization: otherDay } })), 'credential_scope_invalid');
});

test('signed headers: host and x-amz-* must be signed; a changed signed value breaks the signature', async () => {
  assert.equal(await code(authenticateWith(auth, await signed({}, { unsignableHeaders: ['host'] }))), 'signed_headers_invalid');
  assert.equal(await code(authenticateWith(auth, await signed({}, { unsignableHeaders: ['x-amz-content-sha256'] }))), 'signed_headers_invalid');
  const req = await signed({ headers: { 'x-tenant': 'a' } });
  assert.equal(await code(authenticateWith(auth, { ...req, headers: { ...req.headers, 'x-tenant': 'b' } })), 'signature_invalid');
  const { 'x-tenant': _dropped, ...without } = req.headers;
  assert.equal(await code(authenticateWith(auth, { ...req, headers: without })), 'signed_headers_invalid');
  const unsignedToken = { ...req.headers, 'x-amz-security-token': TOKEN };
  assert.equal(await code(authenticateWith(auth, { ...req, headers: unsignedToken })), 'signed_headers_invalid');
});

test('payload: the body must match x-amz-content-sha256, or the signature when the header is absent', async () => {
  const withHash = await signed({ method: 'POST', body: '{"qty":1}' });
  assert.equal(await code(authenticateWith(auth, withHash)), 'ok');
  assert.equal(await code(authenticateWith(auth, { ...withHash, readBody: () => Promise.resolve(Buffer.from('{"qty":9}')) })), 'payload_hash_mismatch');
  const bare = await signed({ method: 'POST', body: '{"qty":1}' }, { applyChecksum: false });
  assert.equal(bare.headers['x-amz-content-sha256'], undefined);
  assert.equal(await code(authenticateWith(auth, bare)), 'ok');
  assert.equal(await code(authenticateWith(auth, { ...bare, readBody: () => Promise.resolve(Buffer.from('{"qty":9}')) })), 'signature_invalid');
});

test('a bad signature is refused before the body is read when the payload hash is declared', async () => {
  const req = await signed({ method: 'POST', body: 'x' }, { secret: 'wrong' });
  assert.equal(await code(authenticateWith(auth, req)), 'signature_invalid');
  assert.equal(req.reads(), 0);
});

test('UNSIGNED-PAYLOAD: refused unless allowed; when allowed the body is not read', async () => {
  const req = await signed({ method: 'PUT', body: 'stream', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
  assert.equal(await code(authenticateWith(auth, req)), 'unsigned_payload_not_allowed');
  assert.equal(await code(authenticateWith(make({ allowUnsignedPayload: true }), req)), 'ok');
  assert.equal(req.reads(), 0);
  // S3-style presigned URL: X-Amz-Content-Sha256=UNSIGNED-PAYLOAD in the query.
  const url = await signed({ method: 'PUT', body: 'any', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }, { presign: 60 });
  assert.match(url.query, /x-amz-content-sha256=UNSIGNED-PAYLOAD/i);
  assert.equal(await code(authenticateWith(auth, url)), 'unsigned_payload_not_allowed');
  assert.equal(await code(authenticateWith(make({ allowUnsignedPayload: true }), url)), 'ok');
});

test('presigned URLs: valid until X-Amz-Expires, not before X-Amz-Date', async () => {
  const url = await signed({ query: { page: '2' } }, { presign: 300 });
  assert.match(url.query, /X-Amz-Signature=/);
  assert.equal(url.headers.authorization, undefined);
  assert.equal(await code(authenticateWith(auth, url)), 'ok');
  assert.equal(await code(authenticateWith(make({ now: NOW + 299_000 }), url)), 'ok');
  assert.equal(await code(authenticateWith(make({ now: NOW + 301_000 }), url)), 'request_expired');
  assert.equal(await code(authenticateWith(make({ now: NOW - 6 * 60_000 }), url)), 'request_expired');
  assert.equal(await code(authenticateWith(auth, { ...url, query: url.query.replace('page=2', 'page=3') })), 'signature_invalid');
  assert.equal(await code(authenticateWith(auth, { ...url, query: url.query.replace('X-Amz-Expires=300', 'X-Amz-Expires=604801') })), 'token_malformed');
});

test('session tokens: required, and only the one from the key file', async () => {
  const temp = { akid: TEMP_AKID, secret: TEMP_SECRET };
  const ok = await authenticateWith(auth, await signed({}, { ...temp, token: TOKEN }));
  assert.ok(ok?.ok);
  assert.deepEqual(ok.identity.claims, { access_key_id: TEMP_AKID, session: true });
  assert.equal(ok.identity.expiresAt, Math.floor((NOW + 3600_000) / 1000));
  assert.equal(await code(authenticateWith(auth, await signed({}, { ...temp, presign: 60, token: TOKEN }))), 'ok');
  assert.equal(await code(authenticateWith(auth, await signed({}, temp))), 'unknown_access_key');
  assert.equal(await code(authenticateWith(auth, await signed({}, { ...temp, token: `${TOKEN}x` }))), 'unknown_access_key');
  assert.equal(await code(authenticateWith(auth, await signed({}, { token: TOKEN }))), 'unknown_access_key');
  const later = NOW + 2 * 3600_000;
  assert.equal(await code(authenticateWith(make({ now: later }), await signed({}, { ...temp, token: TOKEN, at: later }))), 'request_expired');
});

test('the HTTP date header stands in for x-amz-date, and must then be signed', async () => {
  const date = new Date(NOW - 60_000).toUTCString();
  const headers = { host: 'api.example.com', date };
  const creq = new CanonicalRequestBuilder('execute-api').build({
    method: 'GET', rawPath: '/orders', query: {}, signedHeaders: ['date', 'host'], header: (n) => headers[n as 'host'], payloadHash: sha256Hex(''),
  })!;
  const amzDate = basicDate(NOW - 60_000);
  const scope = `${amzDate.slice(0, 8)}/us-east-1/execute-api/aws4_request`;
  const sig = signature(deriveSigningKey(SECRET, amzDate.slice(0, 8), 'us-east-1', 'execute-api'), stringToSign(amzDate, scope, creq)).toString('hex');
  const req = { ...(await signed()), headers: { ...headers, authorization: `AWS4-HMAC-SHA256 Credential=${AKID}/${scope}, SignedHeaders=date;host, Signature=${sig}` } };
  assert.equal(await code(authenticateWith(auth, req)), 'ok');
  const unsigned = String(req.headers.authorization).replace('SignedHeaders=date;host', 'SignedHeaders=host');
  assert.equal(await code(authenticateWith(auth, { ...req, headers: { ...req.headers, authorization: unsigned } })), 'signed_headers_invalid');
});

test('signing keys are derived once per key and day', () => {
  const key = store.lookup(AKID)!;
  const a = store.signingKey(AKID, key, '20260115', 'us-east-1', 'execute-api');
  assert.equal(store.signingKey(AKID, key, '20260115', 'us-east-1', 'execute-api'), a);
  assert.notEqual(store.signingKey(AKID, key, '20260116', 'us-east-1', 'execute-api'), a);
});

test('the key file is re-read on change; a broken file keeps the keys and never echoes a secret', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigv4-watch-'));
  const file = writeKeys({ [AKID]: { secret: SECRET } }, dir);
  const keys = new KeyStore('aws', file);
  const live = make({ keys });
  await live.start();
  const loads = keyFileEvents('aws');
  const events = loads.events;
  const waitFor = async (n: number): Promise<void> => {
    for (let i = 0; i < 100 && events.filter((e) => e.file === file).length < n; i++) await new Promise((r) => setTimeout(r, 50));
  };
  try {
    assert.equal(await code(authenticateWith(live, await signed())), 'ok');
    writeKeys({ [AKID]: { secret: 'rotated-secret' } }, dir);
    await waitFor(1);
    assert.equal(await code(authenticateWith(live, await signed())), 'signature_invalid');
    assert.equal(await code(authenticateWith(live, await signed({}, { secret: 'rotated-secret' }))), 'ok');
    writeFileSync(file, `${AKID}:\n  secret: "top-secret-value\n  roles: [`);
    await waitFor(2);
    const last = events.filter((e) => e.file === file).at(-1);
    assert.equal(last?.ok, false);
    assert.equal(last?.kept, true, 'the previous keys stay in effect');
    assert.equal(JSON.stringify(events).includes('top-secret-value'), false);
    assert.equal(JSON.stringify(events).includes('rotated-secret'), false);
    assert.equal(keys.lastError?.includes('top-secret-value'), false);
    assert.equal(await code(authenticateWith(live, await signed({}, { secret: 'rotated-secret' }))), 'ok');
  } finally {
    loads.stop();
    live.close();
  }
});

test('an unusable key file fails at load without echoing a secret; its keys are refused', async () => {
  const loads = keyFileEvents('aws');
  const unusable = async (file: string, place: RegExp, secret?: string): Promise<void> => {
    const keys = new KeyStore('aws', file);
    try {
      assert.equal(await keys.start(), false, file);
      assert.equal(keys.ready, false);
      assert.match(keys.lastError!, place);
      const event = loads.events.find((e) => e.file === file);
      assert.deepEqual(event && { ok: event.ok, kept: event.kept, error: event.error }, { ok: false, kept: false, error: keys.lastError });
      if (secret !== undefined) {
        assert.ok(!keys.lastError!.includes(secret), 'no secret in lastError');
        assert.ok(!JSON.stringify(loads.events).includes(secret), 'no secret in the event');
      }
      const a = make({ keys });
      await assert.rejects(a.start(), (err: Error) => {
        assert.match(err.message, /provider "aws"/);
        return secret === undefined || !err.message.includes(secret);
      });
      assert.equal(a.ready, false);
      assert.equal(await code(authenticateWith(a, await signed())), 'provider_unavailable');
      a.close();
    } finally {
      keys.close();
    }
  };
  try {
    await unusable(writeKeys({ [AKID]: { secret: 'hunter2', role: 'x' } }), new RegExp(`/${AKID}/role`), 'hunter2');
    await unusable(join(tmpdir(), 'no-such-dir', 'keys.yaml'), /no such file/);
    await unusable(writeKeys({ 'bad/id': { secret: 's3cr3t-value' } }), /^\/bad~1id: /, 's3cr3t-value');
  } finally {
    loads.stop();
  }
});
