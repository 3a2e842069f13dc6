// `clientAuth: client_assertion_file`: Entra workload identity federation. The gateway reads a
// federated client assertion from a file (as a Kubernetes projected service account token is
// mounted and rotated) and presents it at the token endpoint. oidc-provider cannot take an assertion
// from another issuer as client authentication, so the token endpoint here is the Entra stand-in of
// test/harness/entra-standin.ts, which verifies the assertion with jose at the JWKS of a "Kubernetes"
// issuer made in this test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startEntraStandIn, type EntraStandIn } from '../harness/entra-standin.js';
import { startSigningKeys, type SigningKeys } from '../harness/provider-tokens.js';
import { startBearerUpstream, type BearerUpstream } from '../harness/bearer-upstream.js';
import { rawRequest } from '../harness/http.js';

const TENANT = randomUUID();
const CLIENT = randomUUID();
const K8S_ISSUER = `https://oidc.prod-aks.azure.com/${randomUUID()}/`;
const SUBJECT = 'system:serviceaccount:gateway:gatehouse';
let k8s: SigningKeys;
let entra: EntraStandIn;
let upstream: BearerUpstream;
let gw: TestGateway;
const dir = mkdtempSync(join(tmpdir(), 'gh-cred-federated-'));
const tokenFile = join(dir, 'azure-identity-token');

/** A projected service account token for the gateway's service account; `iss` may be another's. */
async function projected(iss = K8S_ISSUER): Promise<{ jwt: string; jti: string }> {
  const now = Math.floor(Date.now() / 1000);
  const jti = randomUUID();
  return { jti, jwt: await k8s.sign({ aud: ['api://AzureADTokenExchange'], iss, sub: SUBJECT, iat: now, nbf: now, exp: now + 3600, jti, kubernetes: { namespace: 'gateway' } }) };
}
/** Swap the file as the kubelet does: write beside it, rename over it. */
function rotate(jwt: string): void {
  writeFileSync(`${tokenFile}.new`, jwt);
  renameSync(`${tokenFile}.new`, tokenFile);
}

before(async () => {
  k8s = await startSigningKeys();
  entra = await startEntraStandIn({ federated: [{ clientId: CLIENT, issuer: K8S_ISSUER, jwksUri: k8s.jwksUri, subject: SUBJECT }], ttl: 62 });
  upstream = await startBearerUpstream(() => ({ issuer: entra.issuer(TENANT), jwksUri: entra.jwksUri, audience: 'api://orders-backend' }));
  rotate((await projected('https://kubernetes.default.svc.cluster.local')).jwt);   // not the federated issuer: refused
  gw = await startGateway({
    routes: [{
      name: 'orders', match: { path: '/orders/*' }, public: true,
      upstream: { url: upstream.url, auth: [{ type: 'oauth2', tokenUrl: entra.tokenUrl(TENANT), clientId: CLIENT, clientAuth: 'client_assertion_file', clientAssertionFile: tokenFile, scope: 'api://orders-backend/.default' }] },
    }],
  });
});
after(async () => { await gw.stop(); await upstream.close(); await entra.close(); await k8s.close(); });

test('an assertion the token endpoint refuses answers 503 with the reason in the audit; nothing reaches the backend', async () => {
  const res = await rawRequest(gw.url, 'GET', '/orders/1');
  assert.deepEqual([res.status, res.json().code], [503, 'upstream_credential_unavailable']);
  assert.equal(upstream.seen.length, 0);
  const line = await gw.auditLine((l) => l.route === 'orders');
  assert.match(String(line?.error_detail), /HTTP 401 invalid_client: AADSTS700213/);
});

test('a rotated token file is read again: the new assertion is presented and the backend gets the app token', async () => {
  const next = await projected();
  rotate(next.jwt);
  let res = await rawRequest(gw.url, 'GET', '/orders/1');
  for (let i = 0; i < 100 && res.status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 50));
    res = await rawRequest(gw.url, 'GET', '/orders/1');
  }
  assert.equal(res.status, 200, res.body);
  assert.equal(entra.requests.at(-1)!.assertionJti, next.jti);
  assert.deepEqual([upstream.verified.at(-1)!.azp, upstream.verified.at(-1)!.azpacr], [CLIENT, '2']);
  const line = await gw.auditLine((l) => l.route === 'orders' && l.status === 200);
  assert.deepEqual(line?.credentials, [{ kind: 'oauth2', client: CLIENT, token_url: entra.tokenUrl(TENANT) }]);
});

test('the next token (62 s tokens, refreshed 60 s early) is fetched with the assertion of the file at that time', async () => {
  const later = await projected();
  rotate(later.jwt);
  await new Promise((r) => setTimeout(r, 2200));
  const res = await rawRequest(gw.url, 'GET', '/orders/2');
  assert.equal(res.status, 200, res.body);
  assert.equal(entra.requests.at(-1)!.assertionJti, later.jti);
  assert.ok(!JSON.stringify(await gw.audit()).includes(later.jwt.split('.')[2]!), 'the assertion is not in the audit');
});
