// The Okta, Keycloak and generic token exchange examples of docs/credentials/oauth2.md, run as
// written by a real gateway against the real in-process oidc-provider (client credentials with
// discovery and client_secret_basic; an RFC 8693 grant registered by test/harness/token-grants.ts
// that verifies the caller's Keycloak-shaped token at the JWKS of test keys). A real upstream verifies
// the token it gets at the OP's JWKS. Only endpoints, files and upstreams are local.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startExample } from '../harness/examples.js';
import type { TestGateway } from '../harness/gateway.js';
import { rawRequest } from '../harness/http.js';
import { keycloak, okta, startSigningKeys, type SigningKeys } from '../harness/provider-tokens.js';
import { startBearerUpstream, type BearerUpstream } from '../harness/bearer-upstream.js';
import { startOidcProvider, type TestOidcProvider } from '../harness/oidc-provider.js';
import { TOKEN_EXCHANGE, tokenGrants } from '../harness/token-grants.js';

const OKTA = 'https://dev-123456.okta.com/oauth2/default';
const KEYCLOAK = 'https://sso.example.com/realms/acme';
const KEYCLOAK_TOKEN = `${KEYCLOAK}/protocol/openid-connect/token`;
const BACKEND = 'http://orders.internal:8080';
const SECRET = `idp-${randomUUID()}`;
const SECRET_FILE = (idp: string): Record<string, string> => ({ [`/var/run/secrets/gatehouse/${idp}-client-secret`]: SECRET });

let keys: SigningKeys;
let op: TestOidcProvider;
let upstream: BearerUpstream;
let audience: string | undefined;

before(async () => {
  keys = await startSigningKeys();
  const grants = await tokenGrants(() => [{ issuer: KEYCLOAK, jwksUri: keys.jwksUri, audience: 'gatehouse' }]);
  const client = { client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [], response_types: [] };
  op = await startOidcProvider({
    clients: [
      { ...client, client_id: '0oa8f5j3ecb5w3dF35d7', grant_types: ['client_credentials'] },
      { ...client, client_id: 'gatehouse', grant_types: ['client_credentials', TOKEN_EXCHANGE] },
    ],
    // Okta's custom authorization server: its custom scope, tokens for its audience.
    resourceServers: { 'api://default': { scope: 'orders.backend' } },
    defaultResource: (scope) => (scope === 'orders.backend' ? 'api://default' : undefined),
    setup: grants.setup,
  });
  upstream = await startBearerUpstream(() => ({ issuer: op.issuer, jwksUri: `${op.issuer}/jwks`, ...(audience ? { audience } : {}) }));
});
after(async () => { await upstream.close(); await op.stop(); await keys.close(); });

describe('examples/okta-client-credentials.yaml', () => {
  let gw: TestGateway;
  // The authorization server's issuer is the OP's here, for the callers' tokens and for discovery.
  before(async () => { gw = await startExample('okta-client-credentials.yaml', { jwksUri: keys.jwksUri, files: SECRET_FILE('okta'), replace: { [OKTA]: op.issuer, [BACKEND]: upstream.url } }); });
  after(() => gw.stop());

  it('the token endpoint is discovered; the backend gets the gateway\'s token with the custom scope', async () => {
    audience = 'api://default';
    const user = okta.user({ iss: op.issuer, aud: 'api://default', cid: '0oa1b2c3d4e5f6g7h8i9', uid: '00u1a2b3c4d5e6f7g8h9', login: 'alice@example.com', scp: ['orders.read'] });
    const res = await rawRequest(gw.url, 'GET', '/orders/1', { authorization: `Bearer ${await keys.sign(user)}` });
    assert.equal(res.status, 200, res.body);
    assert.deepEqual([upstream.verified.at(-1)!.client_id, upstream.verified.at(-1)!.scope], ['0oa8f5j3ecb5w3dF35d7', 'orders.backend']);
    const line = await gw.auditLine((l) => l.route === 'orders');
    assert.deepEqual(line?.credentials, [{ kind: 'oauth2', client: '0oa8f5j3ecb5w3dF35d7', token_url: `${op.issuer}/token` }]);
  });
});

describe('examples/keycloak-client-credentials.yaml', () => {
  let gw: TestGateway;
  before(async () => { gw = await startExample('keycloak-client-credentials.yaml', { jwksUri: keys.jwksUri, files: SECRET_FILE('keycloak'), replace: { [KEYCLOAK_TOKEN]: `${op.issuer}/token`, [BACKEND]: upstream.url } }); });
  after(() => gw.stop());

  it('the service account of the gatehouse client gets its token (client_secret_basic)', async () => {
    audience = undefined;
    const token = keycloak.token({ iss: KEYCLOAK, typ: 'Bearer', aud: 'orders-api', azp: 'orders-web', sub: randomUUID(), realmRoles: [], clientRoles: { 'orders-api': ['orders.read'] } });
    const res = await rawRequest(gw.url, 'GET', '/orders/1', { authorization: `Bearer ${await keys.sign(token)}` });
    assert.equal(res.status, 200, res.body);
    assert.equal(upstream.verified.at(-1)!.client_id, 'gatehouse');
    const first = upstream.verified.at(-1)!.jti;
    const writer = keycloak.token({ iss: KEYCLOAK, typ: 'Bearer', aud: 'orders-api', azp: 'orders-web', sub: randomUUID(), realmRoles: [], clientRoles: { 'orders-api': ['orders.write'] } });
    const post = await rawRequest(gw.url, 'POST', '/orders', { authorization: `Bearer ${await keys.sign(writer)}`, 'content-type': 'application/json' }, '{}');
    assert.equal(post.status, 200, post.body);
    assert.equal(upstream.verified.at(-1)!.jti, first, 'both routes name one upstream: one cached token');
    const reader = keycloak.token({ iss: KEYCLOAK, typ: 'Bearer', aud: 'orders-api', azp: 'orders-web', sub: randomUUID(), realmRoles: [], clientRoles: { 'orders-api': ['orders.read'] } });
    assert.equal((await rawRequest(gw.url, 'POST', '/orders', { authorization: `Bearer ${await keys.sign(reader)}` }, '{}')).status, 403, 'a reader cannot write');
  });
});

describe('examples/token-exchange.yaml', () => {
  let gw: TestGateway;
  before(async () => { gw = await startExample('token-exchange.yaml', { jwksUri: keys.jwksUri, files: SECRET_FILE('keycloak'), replace: { [KEYCLOAK_TOKEN]: `${op.issuer}/token`, [BACKEND]: upstream.url } }); });
  after(() => gw.stop());

  it('the caller\'s token is exchanged for one for orders-backend with the caller as subject', async () => {
    audience = 'orders-backend';
    const sub = randomUUID();
    const token = keycloak.token({ iss: KEYCLOAK, typ: 'Bearer', aud: 'gatehouse', azp: 'orders-web', sub, realmRoles: [], clientRoles: {} });
    const res = await rawRequest(gw.url, 'GET', '/orders/1', { authorization: `Bearer ${await keys.sign(token)}` });
    assert.equal(res.status, 200, res.body);
    const got = upstream.verified.at(-1)!;
    assert.deepEqual([got.sub, got.aud, got.scope, (got.act as { sub: string }).sub], [sub, 'orders-backend', 'orders', 'gatehouse']);
  });
});
