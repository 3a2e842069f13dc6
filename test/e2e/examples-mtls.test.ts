import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose';
import { startExample } from '../harness/examples.js';
import type { TestGateway } from '../harness/gateway.js';
import { rawRequest, type RawResponse } from '../harness/http.js';
import { OpensslCa, type Ca, type Pem } from '../harness/openssl-ca.js';
import { startMtlsBackend, type BackendReply, type MtlsBackend } from '../harness/mtls-backend.js';
import { entra, okta, startSigningKeys, type SigningKeys } from '../harness/provider-tokens.js';

// examples/azure-vms-mtls.yaml as written, run by a real gateway: Okta- and Entra-shaped tokens signed by
// keys made here (only the key endpoint is local), two backend "VMs" that take only two-way TLS from the
// gateway's client certificate (CAs and certificates made here by openssl) and verify the identity
// assertion with jose at the gateway's JWKS, expecting the audience and issuer the example configures.

const OKTA_ISS = 'https://example.okta.com/oauth2/default';
const TENANT_ID = randomUUID();
const API_CLIENT_ID = randomUUID();
const ASSERTION_ISS = 'https://gatehouse.example.com/vms';

const pki = new OpensslCa();
let vmCa: Ca, clientCa: Ca, client: Pem;
let orders: MtlsBackend, billing: MtlsBackend;
let keys: SigningKeys;
let gw: TestGateway;

before(async () => {
  vmCa = pki.makeCa('vm-ca');
  clientCa = pki.makeCa('vm-clients-ca');
  client = pki.issue(clientCa, 'gateway-client', 'gatehouse.example.com');
  const vm = (name: string): Pem => pki.issue(vmCa, name, `${name}.internal.example.com`, { san: `DNS:${name}.internal.example.com`, usage: 'serverAuth' });
  const ordersCert = vm('orders-vm');
  const billingCert = vm('billing-vm');
  orders = await startMtlsBackend({ cert: ordersCert.cert, key: ordersCert.key, clientCa: clientCa.pem });
  billing = await startMtlsBackend({ cert: billingCert.cert, key: billingCert.key, clientCa: clientCa.pem });
  keys = await startSigningKeys();
  const assertionKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  gw = await startExample('azure-vms-mtls.yaml', {
    jwksUri: keys.jwksUri,
    env: { TENANT_ID, API_CLIENT_ID },
    files: {
      '/etc/gatehouse/assertion-key.pem': assertionKey,
      '/etc/gatehouse/upstream/vm-ca.pem': vmCa.pem,
      '/etc/gatehouse/upstream/client.pem': client.cert,
      '/etc/gatehouse/upstream/client-key.pem': client.key,
    },
    replace: { 'https://10.20.0.4:8443': orders.url, 'https://10.20.0.5:8443': billing.url },
  });
  const jwksUri = `${gw.adminUrl}/.well-known/jwks.json`;
  orders.verifyAssertions({ jwksUri, audience: 'api://orders-vm', issuer: ASSERTION_ISS });
  billing.verifyAssertions({ jwksUri, audience: 'api://billing-vm', issuer: ASSERTION_ISS });
});
after(async () => {
  await gw.stop();
  await Promise.all([orders.close(), billing.close(), keys.close()]);
  pki.remove();
});

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
const reply = (res: RawResponse): BackendReply => res.json<BackendReply>();
const oktaToken = (scp: string[]): Promise<string> =>
  keys.sign(okta.user({ iss: OKTA_ISS, aud: 'api://gatehouse', cid: '0oaOrdersPortal1234', uid: '00uAlice1234567890', login: 'alice@example.com', scp }));
const entraToken = (roles: string[], oid = randomUUID()): Promise<string> =>
  keys.sign(entra.v2App({ tid: TENANT_ID, aud: API_CLIENT_ID, azp: randomUUID(), oid, roles }), { typ: 'JWT' });

describe('examples/azure-vms-mtls.yaml', () => {
  it('an Okta caller reaches the orders VM over two-way TLS; the VM verifies an assertion minted for it', async () => {
    const res = await rawRequest(gw.url, 'GET', '/orders/42', bearer(await oktaToken(['orders.read'])));
    assert.equal(res.status, 200, res.body);
    const seen = reply(res);
    assert.deepEqual([seen.subject, seen.issuer], ['gatehouse.example.com', 'vm-clients-ca'], 'the gateway\'s client certificate');
    const claims = seen.assertion as Record<string, unknown>;
    assert.equal(claims.error, undefined, JSON.stringify(claims));
    assert.deepEqual([claims.aud, claims.iss, claims.sub, claims.idp_iss, claims.provider], ['api://orders-vm', ASSERTION_ISS, '00uAlice1234567890', OKTA_ISS, 'okta']);
  });

  it('an Entra app with the app role reaches either VM, each with its own audience', async () => {
    const oid = randomUUID();
    const toOrders = await rawRequest(gw.url, 'GET', '/orders/7', bearer(await entraToken(['Orders.Read'], oid)));
    assert.equal(toOrders.status, 200, toOrders.body);
    assert.deepEqual([(reply(toOrders).assertion as Record<string, unknown>).aud, (reply(toOrders).assertion as Record<string, unknown>).sub], ['api://orders-vm', oid]);
    const toBilling = await rawRequest(gw.url, 'GET', '/billing/invoices', bearer(await entraToken(['Billing.Read'], oid)));
    assert.equal(toBilling.status, 200, toBilling.body);
    const claims = reply(toBilling).assertion as Record<string, unknown>;
    assert.deepEqual([claims.aud, claims.iss, claims.sub, claims.tenant, reply(toBilling).subject], ['api://billing-vm', ASSERTION_ISS, oid, TENANT_ID, 'gatehouse.example.com']);
  });

  it('an assertion minted for the orders VM is refused by a verifier expecting the billing VM\'s audience', async () => {
    const res = await rawRequest(gw.url, 'GET', '/orders/1', bearer(await oktaToken(['orders.read'])));
    const token = orders.lastAssertion();
    assert.ok(token !== undefined, res.body);
    const jwks = await (await fetch(`${gw.adminUrl}/.well-known/jwks.json`)).json() as JSONWebKeySet;
    assert.equal(decodeJwt(token).aud, 'api://orders-vm');
    await assert.rejects(jwtVerify(token, createLocalJWKSet(jwks), { audience: 'api://billing-vm', issuer: ASSERTION_ISS }), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  });

  it('refuses at the gateway: no token (401), Okta without the scope (403), an Entra app without the billing role (403)', async () => {
    const none = await rawRequest(gw.url, 'GET', '/orders/1');
    assert.deepEqual([none.status, none.json().code], [401, 'token_missing']);
    const noScope = await rawRequest(gw.url, 'GET', '/orders/1', bearer(await oktaToken(['orders.write'])));
    assert.equal(noScope.status, 403, noScope.body);
    const oktaToBilling = await rawRequest(gw.url, 'GET', '/billing/1', bearer(await oktaToken(['orders.read'])));
    assert.equal(oktaToBilling.status, 401, 'billing takes Entra tokens only');
    const noRole = await rawRequest(gw.url, 'GET', '/billing/1', bearer(await entraToken(['Orders.Read'])));
    assert.equal(noRole.status, 403, noRole.body);
  });
});
