// The Entra ID outbound examples of docs/credentials/oauth2.md, run as written by a real gateway: the
// gateway's own token with a client secret, a certificate (private_key_jwt) and workload identity
// federation from the Entra token endpoint stand-in (test/harness/entra-standin.ts: a cloud
// endpoint, so a test double), and on-behalf-of at the real oidc-provider with an OBO grant
// registered (test/harness/token-grants.ts). Only endpoints, files and upstreams are local.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExample } from '../harness/examples.js';
import type { TestGateway } from '../harness/gateway.js';
import { rawRequest } from '../harness/http.js';
import { entra, startSigningKeys, type SigningKeys } from '../harness/provider-tokens.js';
import { startEntraStandIn, type EntraStandIn } from '../harness/entra-standin.js';
import { startBearerUpstream, type BearerUpstream } from '../harness/bearer-upstream.js';
import { startOidcProvider, type TestOidcProvider } from '../harness/oidc-provider.js';
import { JWT_BEARER, tokenGrants } from '../harness/token-grants.js';

const TID = '4b0911a0-929b-4715-944b-c03745165b3a';
const API = '6e74172b-be56-4843-9ff4-e66a39bb12e3';
const GW = '0f8e2a51-7c3d-4b9e-a1f6-3d2c5b8e9a70';
const TOKEN_URL = `https://login.microsoftonline.com/${TID}/oauth2/v2.0/token`;
const BACKEND = 'http://orders-backend:8080';
const SECRET = `entra-${randomUUID()}`;
const K8S_ISSUER = `https://oidc.prod-aks.azure.com/${randomUUID()}/`;
const SA = 'system:serviceaccount:gateway:gatehouse';

let keys: SigningKeys;
let k8s: SigningKeys;
let standin: EntraStandIn;
let upstream: BearerUpstream;
let cert: { certPem: string; keyPem: string };

/** An RSA key and self-signed certificate made by openssl now (Entra certificate credentials are RSA). */
function rsaCertificate(): { certPem: string; keyPem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gh-entra-cert-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=gatehouse'], { stdio: 'ignore' });
  return { certPem: readFileSync(join(dir, 'cert.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'key.pem'), 'utf8') };
}
const caller = async (roles = ['Orders.Read']): Promise<Record<string, string>> =>
  ({ authorization: `Bearer ${await keys.sign(entra.v2App({ tid: TID, aud: API, azp: randomUUID(), oid: randomUUID(), roles }))}` });

before(async () => {
  keys = await startSigningKeys();
  k8s = await startSigningKeys();
  cert = rsaCertificate();
  standin = await startEntraStandIn({ secrets: { [GW]: SECRET }, certificates: { [GW]: cert.certPem }, federated: [{ clientId: GW, issuer: K8S_ISSUER, jwksUri: k8s.jwksUri, subject: SA }] });
  upstream = await startBearerUpstream(() => ({ issuer: standin.issuer(TID), jwksUri: standin.jwksUri, audience: 'api://orders-backend' }));
});
after(async () => { await upstream.close(); await standin.close(); await keys.close(); await k8s.close(); });

/** Run `name` against the stand-in; each request of a caller with the role reaches the backend with the gateway's app token. */
async function expectAppToken(name: string, setup: { files?: Record<string, string>; replace?: Record<string, string> }, azpacr: string): Promise<void> {
  const gw: TestGateway = await startExample(name, { jwksUri: keys.jwksUri, files: setup.files, replace: { [BACKEND]: upstream.url, [TOKEN_URL]: standin.tokenUrl(TID), ...setup.replace } });
  try {
    const res = await rawRequest(gw.url, 'GET', '/orders/1', await caller());
    assert.equal(res.status, 200, res.body);
    const got = upstream.verified.at(-1)!;
    assert.deepEqual([got.azp, got.aud, got.azpacr, got.roles], [GW, 'api://orders-backend', azpacr, ['Backend.Call']]);
    const line = await gw.auditLine((l) => l.route === 'orders');
    assert.deepEqual(line?.credentials, [{ kind: 'oauth2', client: GW, token_url: standin.tokenUrl(TID) }]);
    const refused = await rawRequest(gw.url, 'GET', '/orders/1', await caller([]));
    assert.equal(refused.status, 403);
  } finally {
    await gw.stop();
  }
}

describe('examples/entra-client-credentials.yaml', () => {
  it('a client secret (client_secret_post) gets the gateway\'s app token for the backend', () =>
    expectAppToken('entra-client-credentials.yaml', { files: { '/var/run/secrets/gatehouse/entra-client-secret': `${SECRET}\n` } }, '1'));
});

describe('examples/entra-client-certificate.yaml', () => {
  it('a certificate credential (RS256 assertion naming the certificate by x5t#S256) gets the app token', () =>
    expectAppToken('entra-client-certificate.yaml', { files: { '/var/run/secrets/gatehouse/client-key.pem': cert.keyPem, '/var/run/secrets/gatehouse/client-cert.pem': cert.certPem } }, '2'));
});

describe('examples/entra-workload-identity.yaml', () => {
  it('the projected service account token is the client assertion (workload identity federation)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const file = join(mkdtempSync(join(tmpdir(), 'gh-wi-')), 'azure-identity-token');
    writeFileSync(file, await k8s.sign({ aud: ['api://AzureADTokenExchange'], iss: K8S_ISSUER, sub: SA, iat: now, nbf: now, exp: now + 3600, jti: randomUUID() }));
    await expectAppToken('entra-workload-identity.yaml', { replace: { '/var/run/secrets/azure/tokens/azure-identity-token': file } }, '2');
  });
});

describe('examples/entra-obo.yaml', () => {
  let op: TestOidcProvider;
  let backend: BearerUpstream;
  let gw: TestGateway;
  before(async () => {
    const grants = await tokenGrants(() => [{ issuer: entra.v2Issuer(TID), jwksUri: keys.jwksUri, audience: GW }]);
    op = await startOidcProvider({
      clients: [{ client_id: GW, client_secret: SECRET, grant_types: [JWT_BEARER], token_endpoint_auth_method: 'client_secret_post', redirect_uris: [], response_types: [] }],
      setup: grants.setup,
    });
    backend = await startBearerUpstream(() => ({ issuer: op.issuer, jwksUri: `${op.issuer}/jwks`, audience: 'api://orders-backend' }));
    gw = await startExample('entra-obo.yaml', {
      jwksUri: keys.jwksUri, files: { '/var/run/secrets/gatehouse/entra-client-secret': SECRET }, replace: { [BACKEND]: backend.url, [TOKEN_URL]: `${op.issuer}/token` },
    });
  });
  after(async () => { await gw.stop(); await backend.close(); await op.stop(); });

  it('the user\'s token for the gateway is exchanged on behalf of the user for one for the backend', async () => {
    const user = entra.v2User({ tid: TID, aud: GW, oid: randomUUID(), scp: 'Orders.Read' });
    const res = await rawRequest(gw.url, 'GET', '/orders/1', { authorization: `Bearer ${await keys.sign(user)}` });
    assert.equal(res.status, 200, res.body);
    const got = backend.verified.at(-1)!;
    assert.deepEqual([got.sub, got.aud, (got.act as { sub: string }).sub], [user.sub, 'api://orders-backend', GW]);
    const line = await gw.auditLine((l) => l.route === 'orders');
    assert.deepEqual(line?.credentials, [{ kind: 'token-exchange', client: GW, token_url: `${op.issuer}/token`, subject: 'caller-token', preset: 'entra-obo' }]);
  });
});
