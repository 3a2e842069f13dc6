// examples/synapse-to-aws.yaml, aws-static-keys.yaml and aws-irsa.yaml, run as written by a real gateway: Synapse managed identity tokens
// (Entra-shaped, keys made here) are authenticated; the gateway's own Entra token comes from the
// Entra token endpoint stand-in by workload identity federation; STS is a stand-in (cloud endpoint,
// test double) spoken to by the real @aws-sdk/client-sts, verifying that token at the Entra
// stand-in's JWKS; the AWS-style backend verifies the SigV4 signature with Gatehouse's own verifier.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExample } from '../harness/examples.js';
import type { TestGateway } from '../harness/gateway.js';
import { rawRequest } from '../harness/http.js';
import { entra, startSigningKeys, type SigningKeys } from '../harness/provider-tokens.js';
import { startEntraStandIn, type EntraStandIn } from '../harness/entra-standin.js';
import { startStsStandIn, startSigV4Backend, type StsStandIn, type SigV4Backend } from '../harness/aws-standin.js';

const TID = '4b0911a0-929b-4715-944b-c03745165b3a';
const GW = '0f8e2a51-7c3d-4b9e-a1f6-3d2c5b8e9a70';
const ROLE = 'arn:aws:iam::123456789012:role/synapse-orders-reader';
const K8S_ISSUER = `https://oidc.prod-aks.azure.com/${randomUUID()}/`;
const SA = 'system:serviceaccount:gateway:gatehouse';

let keys: SigningKeys;
let k8s: SigningKeys;
let entraSts: EntraStandIn;
let sts: StsStandIn;
let backend: SigV4Backend;
let gw: TestGateway;

const pipeline = async (oid: string, roles = ['AwsOrders.Read']): Promise<Record<string, string>> =>
  ({ authorization: `Bearer ${await keys.sign(entra.v1ManagedIdentity({ tid: TID, aud: 'api://aws-bridge', appid: randomUUID(), oid, roles }), { x5t: keys.kid })}` });

before(async () => {
  keys = await startSigningKeys();
  k8s = await startSigningKeys();
  entraSts = await startEntraStandIn({ federated: [{ clientId: GW, issuer: K8S_ISSUER, jwksUri: k8s.jwksUri, subject: SA }] });
  backend = await startSigV4Backend('execute-api', 'eu-west-1');
  sts = await startStsStandIn({
    roles: { [ROLE]: { issuer: entraSts.issuer(TID), audience: 'api://aws-federation', jwks: entraSts.jwksUri } },
    onIssue: (k) => backend.addKey(k.accessKeyId, { secret: k.secretAccessKey, principal: k.arn, sessionToken: k.sessionToken, expiresAt: k.expiration.toISOString() }),
  });
  const now = Math.floor(Date.now() / 1000);
  const assertion = join(mkdtempSync(join(tmpdir(), 'gh-synapse-')), 'azure-identity-token');
  writeFileSync(assertion, await k8s.sign({ aud: ['api://AzureADTokenExchange'], iss: K8S_ISSUER, sub: SA, iat: now, nbf: now, exp: now + 3600, jti: randomUUID() }));
  gw = await startExample('synapse-to-aws.yaml', {
    jwksUri: keys.jwksUri,
    replace: {
      'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com': backend.url,
      [`https://login.microsoftonline.com/${TID}/oauth2/v2.0/token`]: entraSts.tokenUrl(TID),
      '/var/run/secrets/azure/tokens/azure-identity-token': assertion,
      'https://sts.eu-west-1.amazonaws.com': sts.url,
    },
  });
});
after(async () => { await gw?.stop(); await backend.close(); await sts.close(); await entraSts.close(); await keys.close(); await k8s.close(); });

describe('examples/synapse-to-aws.yaml (docs/credentials/aws-sigv4.md: Entra → AWS per caller)', () => {
  it('each pipeline gets its own role session; the backend verifies the signature of the assumed role', async () => {
    const a = randomUUID();
    const b = randomUUID();
    const res = await rawRequest(gw.url, 'GET', '/aws/orders/42?expand=lines', await pipeline(a));
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json().principal, `arn:aws:sts::123456789012:assumed-role/synapse-orders-reader/synapse-${a}`);
    assert.equal(backend.requests.at(-1)!.url, '/orders/42?expand=lines');
    assert.equal((await rawRequest(gw.url, 'GET', '/aws/orders/43', await pipeline(b))).status, 200);
    assert.equal((await rawRequest(gw.url, 'GET', '/aws/orders/44', await pipeline(a))).status, 200);
    assert.deepEqual(sts.calls.map((c) => [c.roleArn, c.sessionName, c.sub, c.durationSeconds]), [
      [ROLE, `synapse-${a}`, GW, 900], [ROLE, `synapse-${b}`, GW, 900],
    ]);
    assert.match(String(sts.calls[0]!.policy), /"execute-api:Invoke"/);
    assert.equal(entraSts.requests.length, 1, 'one Entra token for the gateway, reused for every session');
    const line = await gw.auditLine((l) => l.route === 'aws-orders' && (l.identity as { subject?: string } | undefined)?.subject === b);
    assert.equal(line?.upstream, backend.url);
    const use = (line?.credentials as Record<string, string>[])[0]!;
    assert.deepEqual([use.kind, use.role_arn, use.session_name], ['sigv4', ROLE, `synapse-${b}`]);
    assert.match(use.assumed_role_id!, new RegExp(`^AROA[0-9A-F]{16}:synapse-${b}$`));
  });

  it('a pipeline without the app role is refused before any STS call', async () => {
    const calls = sts.calls.length;
    const res = await rawRequest(gw.url, 'GET', '/aws/orders/1', await pipeline(randomUUID(), []));
    assert.equal(res.status, 403);
    assert.equal(sts.calls.length, calls);
  });
});

describe('examples/aws-static-keys.yaml (docs/credentials/aws-sigv4.md: static keys)', () => {
  const SECRET = `wJalrXUtnFEMI/${randomUUID()}`;
  let aws: SigV4Backend;
  let sso: SigningKeys;
  let ex: TestGateway;
  before(async () => {
    sso = await startSigningKeys();
    aws = await startSigV4Backend('execute-api', 'eu-west-1');
    await aws.addKey('AKIAIOSFODNN7EXAMPLE', { secret: SECRET, principal: 'arn:aws:iam::123456789012:user/gatehouse' });
    ex = await startExample('aws-static-keys.yaml', {
      jwksUri: sso.jwksUri, files: { '/var/run/secrets/gatehouse/aws-secret-access-key': `${SECRET}\n` },
      replace: { 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com': aws.url },
    });
  });
  after(async () => { await ex?.stop(); await aws.close(); await sso.close(); });

  it('a POST is signed with the IAM user\'s keys, body hash and content-type included', async () => {
    const t = Math.floor(Date.now() / 1000);
    const token = await sso.sign({ iss: 'https://sso.example.com', aud: 'api://orders', sub: 'alice', iat: t, exp: t + 600 });
    const body = '{"sku":"A-1","qty":2}';
    const res = await rawRequest(ex.url, 'POST', '/orders', { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body);
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json().principal, 'arn:aws:iam::123456789012:user/gatehouse');
    assert.equal(aws.requests.at(-1)!.headers['x-amz-content-sha256'], createHash('sha256').update(body).digest('hex'));
    assert.match(String(aws.requests.at(-1)!.headers.authorization), /SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date,/);
  });
});

describe('examples/aws-irsa.yaml (docs/credentials/aws-sigv4.md: EKS IRSA to S3)', () => {
  const EKS_ISSUER = 'https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE';
  let aws: SigV4Backend;
  let irsaSts: StsStandIn;
  let sso: SigningKeys;
  let eks: SigningKeys;
  let ex: TestGateway;
  before(async () => {
    sso = await startSigningKeys();
    eks = await startSigningKeys();
    aws = await startSigV4Backend('s3', 'eu-west-1');
    irsaSts = await startStsStandIn({
      roles: { 'arn:aws:iam::123456789012:role/gatehouse-reports': { issuer: EKS_ISSUER, audience: 'sts.amazonaws.com', jwks: eks.jwksUri } },
      onIssue: (k) => aws.addKey(k.accessKeyId, { secret: k.secretAccessKey, principal: k.arn, sessionToken: k.sessionToken, expiresAt: k.expiration.toISOString() }),
    });
    const t = Math.floor(Date.now() / 1000);
    const token = join(mkdtempSync(join(tmpdir(), 'gh-irsa-')), 'token');
    writeFileSync(token, await eks.sign({ iss: EKS_ISSUER, aud: ['sts.amazonaws.com'], sub: 'system:serviceaccount:gateway:gatehouse', iat: t, exp: t + 86400 }));
    ex = await startExample('aws-irsa.yaml', {
      jwksUri: sso.jwksUri,
      replace: {
        'https://reports-bucket.s3.eu-west-1.amazonaws.com': aws.url, '/var/run/secrets/eks.amazonaws.com/serviceaccount/token': token,
        'https://sts.eu-west-1.amazonaws.com': irsaSts.url,
      },
    });
  });
  after(async () => { await ex?.stop(); await aws.close(); await irsaSts.close(); await sso.close(); await eks.close(); });

  it('a PUT streams to S3 signed with the assumed role\'s temporary credentials (UNSIGNED-PAYLOAD)', async () => {
    const t = Math.floor(Date.now() / 1000);
    const token = await sso.sign({ iss: 'https://sso.example.com', aud: 'api://reports', sub: 'reporter', iat: t, exp: t + 600 });
    const body = Buffer.alloc(256 * 1024, 'r');
    const res = await rawRequest(ex.url, 'PUT', '/reports/2026/q1%20final.csv', { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }, body);
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json().principal, 'arn:aws:sts::123456789012:assumed-role/gatehouse-reports/gatehouse-reports');
    assert.equal(res.json().bytes, body.length);
    assert.equal(aws.requests.at(-1)!.headers['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD');
    assert.equal(aws.requests.at(-1)!.url, '/reports/2026/q1%20final.csv');
    assert.equal(irsaSts.calls.at(-1)!.sub, 'system:serviceaccount:gateway:gatehouse');
  });
});
