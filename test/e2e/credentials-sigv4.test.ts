// Outbound credential `sigv4`: the gateway signs upstream requests with AWS SigV4. STS is a stand-in
// for the cloud endpoint (test/harness/aws-standin.ts), spoken to by the real @aws-sdk/client-sts
// inside the gateway; it verifies the web identity token at the issuer's JWKS with jose. The backend
// verifies every signature with Gatehouse's own inbound SigV4 verifier against the keys STS issued.
// Web identity tokens come from a token file (EKS IRSA, keys made here) or the real oidc-provider.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startOidcProvider, type TestOidcProvider } from '../harness/oidc-provider.js';
import { startSigningKeys, type SigningKeys } from '../harness/provider-tokens.js';
import { startStsStandIn, startSigV4Backend, type StsStandIn, type SigV4Backend, type BackendRequest } from '../harness/aws-standin.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { rawRequest } from '../harness/http.js';

const REGION = 'eu-west-1';
const SERVICE = 'execute-api';
const K8S_ISSUER = 'https://oidc.eks.eu-west-1.amazonaws.com/id/5C1A2B3D4E5F60718293A4B5C6D7E8F9';
const SA = 'system:serviceaccount:gateway:gatehouse';
const IRSA_ROLE = 'arn:aws:iam::123456789012:role/gatehouse-irsa';
const CALLER_ROLE = 'arn:aws:iam::123456789012:role/orders-per-caller';
const OAUTH_ROLE = 'arn:aws:iam::123456789012:role/gatehouse-federated';
const FEDERATION = 'api://aws-federation';
const STATIC_AKID = 'AKIAGATEHOUSESTATIC1';
const STATIC_SECRET = `static/${randomUUID()}`;
const POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:eu-west-1:123456789012:orders/*/GET/*"}]}';

const dir = mkdtempSync(join(tmpdir(), 'gh-cred-sigv4-'));
const tokenFile = join(dir, 'token');
let k8s: SigningKeys;
let callers: SigningKeys;
let op: TestOidcProvider;
let sts: StsStandIn;
let backend: SigV4Backend;
let gw: TestGateway;
let plain: TestUpstream;

/** A projected service account token, as the kubelet writes it for IRSA. */
const saToken = (jti = randomUUID()): Promise<string> => {
  const t = Math.floor(Date.now() / 1000);
  return k8s.sign({ iss: K8S_ISSUER, sub: SA, aud: ['sts.amazonaws.com'], iat: t, nbf: t, exp: t + 3600, jti });
};
const caller = async (sub: string): Promise<Record<string, string>> => {
  const t = Math.floor(Date.now() / 1000);
  return { authorization: `Bearer ${await callers.sign({ iss: 'https://callers.example', aud: 'api://orders', sub, iat: t, exp: t + 600 })}` };
};
const last = (): BackendRequest => backend.requests.at(-1)!;

before(async () => {
  k8s = await startSigningKeys();
  callers = await startSigningKeys();
  op = await startOidcProvider({ resourceServers: { [FEDERATION]: { scope: 'sts' } } });
  backend = await startSigV4Backend(SERVICE, REGION);
  await backend.addKey(STATIC_AKID, { secret: STATIC_SECRET, principal: 'arn:aws:iam::123456789012:user/gatehouse-static' });
  sts = await startStsStandIn({
    roles: {
      [IRSA_ROLE]: { issuer: K8S_ISSUER, audience: 'sts.amazonaws.com', jwks: k8s.jwksUri },
      [CALLER_ROLE]: { issuer: K8S_ISSUER, audience: 'sts.amazonaws.com', jwks: k8s.jwksUri },
      [OAUTH_ROLE]: { issuer: op.issuer, audience: FEDERATION, jwks: `${op.issuer}/jwks` },
    },
    onIssue: (k) => backend.addKey(k.accessKeyId, { secret: k.secretAccessKey, principal: k.arn, sessionToken: k.sessionToken, expiresAt: k.expiration.toISOString() }),
  });
  writeFileSync(tokenFile, await saToken());
  writeFileSync(join(dir, 'aws-secret'), `${STATIC_SECRET}\n`);
  writeFileSync(join(dir, 'client-secret'), op.clientSecret);
  const staticKeys = { static: { accessKeyId: STATIC_AKID, secretAccessKey: `\${file:${join(dir, 'aws-secret')}}` } };
  const closed = await startUpstream();
  await closed.close();
  plain = await startUpstream();
  const sigv4 = { type: 'sigv4', service: SERVICE, region: REGION };
  const irsa = { roleArn: IRSA_ROLE, tokenFile, stsEndpoint: sts.url, sessionName: 'gatehouse-irsa' };
  const up = (auth: Record<string, unknown>): Record<string, unknown> => ({ url: backend.url, auth: [{ ...sigv4, ...auth }] });
  gw = await startGateway({
    providers: { callers: { type: 'oidc', issuer: 'https://callers.example', jwksUri: callers.jwksUri, audience: 'api://orders' } },
    routes: [
      { name: 'static', match: { path: '/static/*' }, public: true, upstream: up({ signedHeaders: ['content-type'], credentials: staticKeys }) },
      { name: 'irsa', match: { path: '/irsa/*' }, public: true, upstream: up({ credentials: { webIdentity: irsa } }) },
      { name: 'unsigned', match: { path: '/unsigned/*' }, public: true, upstream: up({ payload: 'unsigned', credentials: { webIdentity: irsa } }) },
      { name: 'oauth', match: { path: '/oauth/*' }, public: true, upstream: up({ credentials: { webIdentity: { roleArn: OAUTH_ROLE, stsEndpoint: sts.url, token: { oauth2: { tokenUrl: `${op.issuer}/token`, clientId: op.clientId, clientSecret: `\${file:${join(dir, 'client-secret')}}`, clientAuth: 'client_secret_post', resource: FEDERATION } } } } }) },
      { name: 'per-caller', match: { path: '/orders/*' }, authenticate: ['callers'], upstream: up({ credentials: { webIdentity: { roleArn: CALLER_ROLE, tokenFile, stsEndpoint: sts.url, sessionName: '{subject}', policy: POLICY, durationSeconds: 900 } } }) },
      { name: 'small', match: { path: '/small/*' }, public: true, maxBodySize: '1kb', upstream: up({ credentials: staticKeys }) },
      { name: 'passthrough', match: { path: '/passthrough/*' }, public: true, upstream: { url: plain.url, forwardAuthorization: true } },
      { name: 'sts-down', match: { path: '/down/*' }, public: true, upstream: up({ credentials: { webIdentity: { ...irsa, stsEndpoint: closed.url, timeout: '2s' } } }) },
    ],
  });
});
after(async () => { await gw?.stop(); await plain.close(); await backend.close(); await sts.close(); await op.stop(); await k8s.close(); await callers.close(); });

test('static keys: the backend verifies the signature; the audit names kind, service, region and the access key id', async () => {
  const res = await rawRequest(gw.url, 'GET', '/static/orders/7?b=2&a=x%20y', { 'content-type': 'application/json' });
  assert.equal(res.status, 200, res.body);
  assert.equal(res.json().principal, 'arn:aws:iam::123456789012:user/gatehouse-static');
  assert.match(String(last().headers.authorization), /SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date,/);
  const line = await gw.auditLine((l) => l.route === 'static');
  assert.deepEqual(line?.credentials, [{ kind: 'sigv4', service: SERVICE, region: REGION, access_key_id: STATIC_AKID }]);
});

test('differential: the signature is the one SignatureV4.sign makes of the same request directly', async () => {
  const body = '{"item":"widget","qty":3}';
  const res = await rawRequest(gw.url, 'POST', '/static/orders?z=1&a=%2Fslash', { 'content-type': 'application/json' }, body);
  assert.equal(res.status, 200, res.body);
  const got = last();
  const amzDate = String(got.headers['x-amz-date']);
  const signingDate = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
  const signer = new SignatureV4({ service: SERVICE, region: REGION, sha256: Hash.bind(null, 'sha256'), credentials: { accessKeyId: STATIC_AKID, secretAccessKey: STATIC_SECRET } });
  const host = new URL(backend.url).host;
  const direct = await signer.sign({
    method: 'POST', protocol: 'http:', hostname: '127.0.0.1', path: '/static/orders', query: { z: '1', a: '/slash' },
    headers: { host, 'content-type': 'application/json', 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex') }, body,
  }, { signingDate });
  assert.equal(got.headers.authorization, direct.headers.authorization);
  assert.equal(got.body.toString(), body);
});

test('web identity from a token file (IRSA): STS verifies the service account token; the credentials are reused', async () => {
  const before = sts.calls.length;
  const res = await rawRequest(gw.url, 'GET', '/irsa/a');
  assert.equal(res.status, 200, res.body);
  assert.equal(res.json().principal, 'arn:aws:sts::123456789012:assumed-role/gatehouse-irsa/gatehouse-irsa');
  assert.equal(sts.calls.length, before + 1);
  assert.deepEqual([sts.calls.at(-1)!.sub, sts.calls.at(-1)!.sessionName, sts.calls.at(-1)!.status], [SA, 'gatehouse-irsa', 200]);
  for (let i = 0; i < 3; i++) assert.equal((await rawRequest(gw.url, 'GET', `/irsa/${i}`)).status, 200);
  await Promise.all(Array.from({ length: 5 }, () => rawRequest(gw.url, 'GET', '/irsa/concurrent')));
  assert.equal(sts.calls.length, before + 1, 'one STS call for the whole session');
  const line = await gw.auditLine((l) => l.route === 'irsa');
  const use = (line?.credentials as Record<string, string>[])[0]!;
  assert.deepEqual([use.kind, use.role_arn, use.session_name], ['sigv4', IRSA_ROLE, 'gatehouse-irsa']);
  assert.match(use.assumed_role_id!, /^AROA[0-9A-F]{16}:gatehouse-irsa$/);
  assert.ok(!JSON.stringify(line).includes('IQoJ'), 'no session token in the audit line');
});

test('credentials close to expiry are not reused (a new AssumeRoleWithWebIdentity each time); long-lived ones are', async () => {
  sts.ttlSeconds = 60; // inside the 5m refreshBefore margin
  try {
    const before = sts.calls.length;
    for (let i = 0; i < 3; i++) assert.equal((await rawRequest(gw.url, 'GET', '/unsigned/x')).status, 200);
    assert.equal(sts.calls.length, before + 3);
  } finally {
    sts.ttlSeconds = 3600;
  }
  const before = sts.calls.length;
  for (let i = 0; i < 3; i++) assert.equal((await rawRequest(gw.url, 'GET', '/unsigned/y')).status, 200);
  assert.equal(sts.calls.length, before + 1);
});

test('a rotated token file is read again: the next STS call presents the new token', async () => {
  const jti = randomUUID();
  const next = join(dir, 'token.next');
  writeFileSync(next, await saToken(jti));
  renameSync(next, tokenFile); // as the kubelet swaps projected tokens
  // Each new caller is a new role session, so an STS call: wait for the watcher to have read the new token.
  const deadline = Date.now() + 5000;
  while (sts.calls.at(-1)?.jti !== jti && Date.now() < deadline) {
    assert.equal((await rawRequest(gw.url, 'GET', '/orders/rotate', await caller(`rotation-${randomUUID()}`))).status, 200);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(sts.calls.at(-1)?.jti, jti);
});

test('web identity from the gateway\'s OAuth2 token (oidc-provider, client credentials)', async () => {
  const res = await rawRequest(gw.url, 'GET', '/oauth/x');
  assert.equal(res.status, 200, res.body);
  const call = sts.calls.at(-1)!;
  assert.deepEqual([call.roleArn, call.sub, call.sessionName], [OAUTH_ROLE, op.clientId, 'gatehouse']);
});

test('per caller: RoleSessionName from the subject (sanitized, at most 64), the inline policy and duration reach STS; one session per caller', async () => {
  const before = sts.calls.length;
  const alice = await caller('alice@example.com');
  const odd = await caller(`bob smith/ops:${'x'.repeat(80)}`);
  assert.equal((await rawRequest(gw.url, 'GET', '/orders/1', alice)).status, 200);
  assert.equal(last().principal, 'arn:aws:sts::123456789012:assumed-role/orders-per-caller/alice@example.com');
  const res = await rawRequest(gw.url, 'GET', '/orders/2', odd);
  assert.equal(res.status, 200, res.body);
  const expected = `bob-smith-ops-${'x'.repeat(80)}`.slice(0, 64);
  assert.equal(sts.calls.at(-1)!.sessionName, expected);
  assert.equal((await rawRequest(gw.url, 'GET', '/orders/3', alice)).status, 200);
  const calls = sts.calls.slice(before);
  assert.deepEqual(calls.map((c) => c.sessionName), ['alice@example.com', expected]);
  for (const c of calls) assert.deepEqual([c.roleArn, c.policy, c.durationSeconds, c.status], [CALLER_ROLE, POLICY, 900, 200]);
  const line = await gw.auditLine((l) => l.route === 'per-caller' && (l.identity as { subject?: string } | undefined)?.subject === 'alice@example.com');
  const use = (line?.credentials as Record<string, string>[])[0]!;
  assert.deepEqual([use.role_arn, use.session_name], [CALLER_ROLE, 'alice@example.com']);
  assert.match(use.assumed_role_id!, /:alice@example\.com$/);
  assert.equal((await rawRequest(gw.url, 'GET', '/orders/1')).status, 401, 'no caller, no session');
});

test('a forged x-amz-security-token, Authorization, x-amz-* header or presigned query never reaches the backend', async () => {
  const forged = {
    authorization: 'AWS4-HMAC-SHA256 Credential=ASIAFORGED/20260101/eu-west-1/execute-api/aws4_request, SignedHeaders=host, Signature=00',
    'x-amz-security-token': 'forged-session-token', 'x-amz-date': '20200101T000000Z', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-meta-evil': '1',
  };
  const res = await rawRequest(gw.url, 'GET', '/irsa/forged?X-Amz-Security-Token=forged&X-Amz-Signature=00&keep=1', forged);
  assert.equal(res.status, 200, res.body);
  const got = last();
  assert.notEqual(got.headers['x-amz-security-token'], 'forged-session-token');
  assert.match(String(got.headers['x-amz-security-token']), /^IQoJ/);
  assert.doesNotMatch(String(got.headers.authorization), /ASIAFORGED/);
  assert.notEqual(got.headers['x-amz-date'], '20200101T000000Z');
  assert.equal(got.headers['x-amz-meta-evil'], undefined);
  assert.equal(got.url, '/irsa/forged?keep=1');
  const stat = await rawRequest(gw.url, 'GET', '/static/x', { 'x-amz-security-token': 'forged-session-token' });
  assert.equal(stat.status, 200, stat.body);
  assert.equal(last().headers['x-amz-security-token'], undefined, 'static keys without a session token send none');
  // Only the sigv4 routes drop them: a route forwarding its callers' own signatures still does.
  const pass = await rawRequest(gw.url, 'GET', '/passthrough/x', forged);
  assert.equal(pass.status, 200, pass.body);
  assert.deepEqual([plain.seen.at(-1)!.headers['x-amz-security-token'], plain.seen.at(-1)!.headers.authorization], [forged['x-amz-security-token'], forged.authorization]);
});

test('POST: a signed payload hashes the body; an unsigned one says UNSIGNED-PAYLOAD and streams it', async () => {
  const body = JSON.stringify({ order: randomUUID(), lines: Array.from({ length: 50 }, (_, i) => i) });
  const signed = await rawRequest(gw.url, 'POST', '/irsa/orders', { 'content-type': 'application/json' }, body);
  assert.equal(signed.status, 200, signed.body);
  assert.equal(last().headers['x-amz-content-sha256'], createHash('sha256').update(body).digest('hex'));
  assert.equal(signed.json().sha256, createHash('sha256').update(body).digest('hex'));
  const unsigned = await rawRequest(gw.url, 'POST', '/unsigned/orders', { 'content-type': 'application/json' }, body);
  assert.equal(unsigned.status, 200, unsigned.body);
  assert.equal(last().headers['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD');
  assert.equal(last().body.toString(), body);
});

test('a signed payload over the route\'s maxBodySize is 413 body_too_large, nothing sent', async () => {
  const sent = backend.requests.length;
  const res = await rawRequest(gw.url, 'POST', '/small/x', { 'content-type': 'application/octet-stream' }, Buffer.alloc(4096, 1));
  assert.deepEqual([res.status, res.json().code], [413, 'body_too_large']);
  assert.equal(backend.requests.length, sent);
});

test('STS refusing or down: 503 upstream_credential_unavailable, the reason only in the audit line, nothing sent', async () => {
  const sent = backend.requests.length;
  sts.failWith = { status: 400, code: 'InvalidIdentityToken' };
  try {
    const res = await rawRequest(gw.url, 'GET', '/orders/9', await caller(`fresh-${randomUUID()}`));
    assert.deepEqual([res.status, res.json().code], [503, 'upstream_credential_unavailable']);
    assert.doesNotMatch(res.body, /InvalidIdentityToken/);
    const line = await gw.auditLine((l) => l.route === 'per-caller' && l.error === 'upstream_credential_unavailable');
    assert.match(String(line?.error_detail), /InvalidIdentityToken/);
  } finally {
    sts.failWith = undefined;
  }
  const down = await rawRequest(gw.url, 'GET', '/down/x');
  assert.deepEqual([down.status, down.json().code], [503, 'upstream_credential_unavailable']);
  const line = await gw.auditLine((l) => l.route === 'sts-down');
  assert.match(String(line?.error_detail), /ECONNREFUSED/);
  assert.equal(backend.requests.length, sent);
});
