// Outbound credential `sigv4` with `webIdentity.assumeRole`: session tags from the caller's claims by
// role chaining. STS is a stand-in for the cloud endpoint (test/harness/aws-standin.ts), spoken to by
// the real @aws-sdk/client-sts inside the gateway: AssumeRoleWithWebIdentity verifies the service
// account token with jose; AssumeRole must carry a SigV4 signature, recomputed by the stand-in with
// @smithy/signature-v4 from the keys it issued. The backend verifies every request with Gatehouse's
// own inbound SigV4 verifier against the keys STS issued.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STSClient, AssumeRoleCommand } from '@aws-sdk/client-sts';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSigningKeys, type SigningKeys } from '../harness/provider-tokens.js';
import { startStsStandIn, startSigV4Backend, type StsStandIn, type SigV4Backend, type IssuedKeys } from '../harness/aws-standin.js';
import { rawRequest } from '../harness/http.js';

const REGION = 'eu-west-1';
const SERVICE = 'execute-api';
const K8S_ISSUER = 'https://oidc.eks.eu-west-1.amazonaws.com/id/5C1A2B3D4E5F60718293A4B5C6D7E8F9';
const BASE_ROLE = 'arn:aws:iam::123456789012:role/gatehouse-base';
const TAGGED_ROLE = 'arn:aws:iam::123456789012:role/orders-tagged';
const UNTRUSTED_ROLE = 'arn:aws:iam::123456789012:role/not-chainable';
const POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}';

const dir = mkdtempSync(join(tmpdir(), 'gh-cred-sigv4-tags-'));
const tokenFile = join(dir, 'token');
let k8s: SigningKeys;
let callers: SigningKeys;
let sts: StsStandIn;
let backend: SigV4Backend;
let gw: TestGateway;
const issued: IssuedKeys[] = [];

const caller = async (sub: string, claims: Record<string, unknown>): Promise<Record<string, string>> => {
  const t = Math.floor(Date.now() / 1000);
  return { authorization: `Bearer ${await callers.sign({ iss: 'https://callers.example', aud: 'api://orders', sub, iat: t, exp: t + 600, ...claims })}` };
};
const audit = async (sub: string, route = 'tagged') => gw.auditLine((l) => l.route === route && (l.identity as { subject?: string } | undefined)?.subject === sub);

before(async () => {
  k8s = await startSigningKeys();
  callers = await startSigningKeys();
  backend = await startSigV4Backend(SERVICE, REGION);
  sts = await startStsStandIn({
    roles: { [BASE_ROLE]: { issuer: K8S_ISSUER, audience: 'sts.amazonaws.com', jwks: k8s.jwksUri } },
    chains: { [TAGGED_ROLE]: [BASE_ROLE] },
    onIssue: async (k) => {
      issued.push(k);
      await backend.addKey(k.accessKeyId, { secret: k.secretAccessKey, principal: k.arn, sessionToken: k.sessionToken, expiresAt: k.expiration.toISOString() });
    },
  });
  const t = Math.floor(Date.now() / 1000);
  writeFileSync(tokenFile, await k8s.sign({ iss: K8S_ISSUER, sub: 'system:serviceaccount:gateway:gatehouse', aud: ['sts.amazonaws.com'], iat: t, nbf: t, exp: t + 3600 }));
  const chained = (roleArn: string) => ({
    type: 'sigv4', service: SERVICE, region: REGION,
    credentials: {
      webIdentity: {
        roleArn: BASE_ROLE, tokenFile, stsEndpoint: sts.url, sessionName: 'gatehouse-base',
        assumeRole: { roleArn, sessionTags: { team: '{claim:team}', email: '{claim:email}', via: 'gatehouse' }, transitiveTagKeys: ['team'], policy: POLICY, durationSeconds: 900 },
      },
    },
  });
  gw = await startGateway({
    providers: { callers: { type: 'oidc', issuer: 'https://callers.example', jwksUri: callers.jwksUri, audience: 'api://orders' } },
    routes: [
      { name: 'tagged', match: { path: '/orders/*' }, authenticate: ['callers'], upstream: { url: backend.url, auth: [chained(TAGGED_ROLE)] } },
      { name: 'untrusted', match: { path: '/untrusted/*' }, authenticate: ['callers'], upstream: { url: backend.url, auth: [chained(UNTRUSTED_ROLE)] } },
    ],
  });
});
after(async () => { await gw?.stop(); await backend.close(); await sts.close(); await k8s.close(); await callers.close(); });

test('callers with different claims get their own chained sessions, their tags reach STS, one base session serves all, chained keys are cached', async () => {
  const alice = await caller('alice', { team: 'payments', email: 'alice@example.com' });
  const bob = await caller('bob', { team: 'risk & fraud', email: 'bob@example.com' });
  const res = await rawRequest(gw.url, 'GET', '/orders/1', alice);
  assert.equal(res.status, 200, res.body);
  // The backend verified the signature with the chained session's keys, not the base session's.
  assert.equal(res.json().principal, 'arn:aws:sts::123456789012:assumed-role/orders-tagged/alice');
  assert.equal((await rawRequest(gw.url, 'GET', '/orders/2', bob)).status, 200);
  assert.equal(backend.requests.at(-1)!.principal, 'arn:aws:sts::123456789012:assumed-role/orders-tagged/bob');
  for (let i = 0; i < 3; i++) assert.equal((await rawRequest(gw.url, 'GET', `/orders/again-${i}`, i % 2 ? alice : bob)).status, 200);
  await Promise.all(Array.from({ length: 5 }, () => rawRequest(gw.url, 'GET', '/orders/concurrent', alice)));

  const web = sts.calls.filter((c) => c.action === 'AssumeRoleWithWebIdentity');
  assert.deepEqual(web.map((c) => [c.roleArn, c.sessionName, c.status]), [[BASE_ROLE, 'gatehouse-base', 200]], 'one base session for every caller');
  const chainedCalls = sts.calls.filter((c) => c.action === 'AssumeRole' && c.roleArn === TAGGED_ROLE);
  assert.equal(chainedCalls.length, 2, 'one AssumeRole per caller, then cached');
  const [a, b] = chainedCalls;
  assert.deepEqual([a!.sessionName, a!.tags, a!.transitiveTagKeys, a!.policy, a!.durationSeconds, a!.signedBy, a!.status],
    ['alice', { team: 'payments', email: 'alice@example.com', via: 'gatehouse' }, ['team'], POLICY, 900, BASE_ROLE, 200]);
  // `&` is outside STS's tag characters: it becomes `-`.
  assert.deepEqual([b!.sessionName, b!.tags], ['bob', { team: 'risk - fraud', email: 'bob@example.com', via: 'gatehouse' }]);

  const line = await audit('alice');
  const use = (line?.credentials as Record<string, unknown>[])[0]!;
  assert.deepEqual([use.role_arn, use.base_role_arn, use.session_name, use.session_tags], [TAGGED_ROLE, BASE_ROLE, 'alice', { team: 'payments', email: 'alice@example.com', via: 'gatehouse' }]);
  assert.match(String(use.assumed_role_id), /^AROA[0-9A-F]{16}:alice$/);
  assert.ok(!JSON.stringify(line).includes('IQoJ'), 'no session token in the audit line');
});

test('a change of a tag claim is a new chained session (cached per session name and tag values)', async () => {
  const before = sts.calls.filter((c) => c.action === 'AssumeRole').length;
  const moved = await caller('carol', { team: 'payments', email: 'carol@example.com' });
  assert.equal((await rawRequest(gw.url, 'GET', '/orders/x', moved)).status, 200);
  const movedAgain = await caller('carol', { team: 'risk', email: 'carol@example.com' });
  assert.equal((await rawRequest(gw.url, 'GET', '/orders/x', movedAgain)).status, 200);
  const calls = sts.calls.filter((c) => c.action === 'AssumeRole').slice(before);
  assert.deepEqual(calls.map((c) => c.tags?.team), ['payments', 'risk']);
});

test('chained keys close to their own expiry are not reused (a new AssumeRole each time); the base session still is', async () => {
  const frank = await caller('frank', { team: 'payments', email: 'frank@example.com' });
  const before = sts.calls.length;
  sts.ttlSeconds = 60; // inside the 5m refreshBefore margin
  try {
    for (let i = 0; i < 3; i++) assert.equal((await rawRequest(gw.url, 'GET', `/orders/short-${i}`, frank)).status, 200);
  } finally {
    sts.ttlSeconds = 3600;
  }
  assert.deepEqual(sts.calls.slice(before).map((c) => [c.action, c.sessionName]), [['AssumeRole', 'frank'], ['AssumeRole', 'frank'], ['AssumeRole', 'frank']]);
});

test('a caller without the tag claim: 503 upstream_credential_unavailable, no STS call, nothing sent', async () => {
  const [calls, sent] = [sts.calls.length, backend.requests.length];
  const res = await rawRequest(gw.url, 'GET', '/orders/1', await caller('dave', { email: 'dave@example.com' }));
  assert.deepEqual([res.status, res.json().code], [503, 'upstream_credential_unavailable']);
  assert.doesNotMatch(res.body, /team/);
  assert.match(String((await audit('dave'))?.error_detail), /session tag team needs a value/);
  assert.deepEqual([sts.calls.length, backend.requests.length], [calls, sent]);
});

test('STS refusing the chained call: 503, the reason only in the audit line, nothing sent', async () => {
  const sent = backend.requests.length;
  const res = await rawRequest(gw.url, 'GET', '/untrusted/1', await caller('erin', { team: 'payments', email: 'erin@example.com' }));
  assert.deepEqual([res.status, res.json().code], [503, 'upstream_credential_unavailable']);
  assert.doesNotMatch(res.body, /AccessDenied/);
  assert.deepEqual([sts.calls.at(-1)!.action, sts.calls.at(-1)!.signedBy, sts.calls.at(-1)!.error], ['AssumeRole', BASE_ROLE, 'AccessDenied']);
  assert.match(String((await audit('erin', 'untrusted'))?.error_detail), /AccessDenied/);
  assert.equal(backend.requests.length, sent);
});

test('the stand-in refuses AssumeRole with keys it did not issue or a wrong secret (so the calls above were signed right)', async () => {
  const base = issued.find((k) => k.arn.includes('/gatehouse-base/'))!;
  const tryWith = async (credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string }): Promise<string> => {
    const client = new STSClient({ region: REGION, endpoint: sts.url, credentials, maxAttempts: 1 });
    try {
      await client.send(new AssumeRoleCommand({ RoleArn: TAGGED_ROLE, RoleSessionName: 'mallory', Tags: [{ Key: 'team', Value: 'payments' }] }));
      return 'accepted';
    } catch (err) {
      return (err as Error).name;
    } finally {
      client.destroy();
    }
  };
  assert.equal(await tryWith({ accessKeyId: 'ASIAFORGEDFORGED0001', secretAccessKey: 'x', sessionToken: 'y' }), 'InvalidClientTokenId');
  assert.equal(await tryWith({ ...base, secretAccessKey: `${base.secretAccessKey}x` }), 'SignatureDoesNotMatch');
  assert.equal(await tryWith({ ...base, sessionToken: `${base.sessionToken}x` }), 'InvalidClientTokenId');
  assert.equal(await tryWith(base), 'accepted', 'the right keys are accepted');
  assert.ok(sts.calls.some((c) => c.sessionName === 'mallory' && c.error === 'SignatureDoesNotMatch'));
});
