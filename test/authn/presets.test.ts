import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Static } from '@sinclair/typebox';
import type { JWTPayload } from 'jose';
import { jwtProviderFromConfig, type JwtProvider } from '../../src/authn/jwt/provider.js';
import type { OidcProviderSchema } from '../../src/authn/jwt/schema.js';
import type { Identity } from '../../src/identity/identity.js';
import { now, sign, startJwksServer, testKey, type JwksServer, type TestKey } from './fixtures.js';

// Tokens shaped like each provider's documented tokens (claims, JOSE header, issuer format), signed
// with test keys. The local JWKS server stands in for the cloud's keys endpoint (jwksUri), so the
// issuers are the real ones (Okta, Cognito, Auth0, Keycloak, Google) without any network access.
// Entra ID has its own suite: presets-entra.test.ts.

type Cfg = Static<typeof OidcProviderSchema>;
let srv: JwksServer;
let key: TestKey;
const open: JwtProvider[] = [];

function build(cfg: Partial<Cfg> & Pick<Cfg, 'issuer' | 'audience'>, name = 'idp'): JwtProvider {
  const p = jwtProviderFromConfig(name, {
    type: 'oidc', jwksUri: srv.jwksUri, algorithms: ['RS256'], clockSkew: '30s', refreshInterval: '10m',
    unknownKeyCooldown: '0s', fetchTimeout: '2s', ...cfg,
  });
  open.push(p);
  return p;
}

async function provider(cfg: Partial<Cfg> & Pick<Cfg, 'issuer' | 'audience'>): Promise<JwtProvider> {
  const p = build(cfg);
  await p.start();
  return p;
}

/** Sign exactly these claims (no defaults beyond iat/exp) with this JOSE header. */
function token(claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  return sign(key, claims.iss!, { sub: undefined, aud: undefined, ...claims }, header);
}

async function ok(p: JwtProvider, jwt: string): Promise<Identity> {
  const r = await p.verify(jwt);
  assert.ok(r.ok, JSON.stringify(r));
  return r.identity;
}

async function refused(p: JwtProvider, jwt: string): Promise<{ code: string; detail?: string }> {
  const r = await p.verify(jwt);
  assert.equal(r.ok, false, 'expected a refusal');
  return (r as { refusal: { code: string; detail?: string } }).refusal;
}

/** The identity fields a preset fills, for one deepEqual per token. */
const fields = (id: Identity) => ({
  subject: id.subject, clientId: id.clientId, tenant: id.tenant, roles: id.roles, groups: id.groups, scopes: id.scopes,
});

before(async () => {
  key = await testKey('RS256');
  srv = await startJwksServer([key.jwk]);
});
after(async () => { for (const p of open) p.close(); await srv.close(); });

describe('preset okta', () => {
  const issuer = 'https://dev-123456.okta.com/oauth2/default';
  const base = { preset: 'okta' as const, issuer, audience: 'api://default' };

  it('maps a custom authorization server access token: uid subject, cid client, scp array, groups', async () => {
    const t = now();
    const id = await ok(await provider(base), await token({
      ver: 1, jti: 'AT.9OlZnNIr3YDXbbBtfAlS5zQVnYhO4jXxCAqY1H6rVqE', iss: issuer, aud: 'api://default', iat: t, exp: t + 3600,
      cid: '0oa1b2c3d4e5F6g7h8i9', uid: '00u1a2b3c4D5e6F7g8h9', scp: ['openid', 'orders.read'], auth_time: t - 60,
      sub: 'alice@example.com', groups: ['Everyone', 'Orders'],
    }));
    assert.deepEqual(fields(id), {
      subject: '00u1a2b3c4D5e6F7g8h9', clientId: '0oa1b2c3d4e5F6g7h8i9', tenant: undefined,
      roles: [], groups: ['Everyone', 'Orders'], scopes: ['openid', 'orders.read'],
    });
  });

  it('a client-credentials token has no uid: the subject is sub (the client id)', async () => {
    const t = now();
    const id = await ok(await provider(base), await token({
      ver: 1, jti: 'AT.x', iss: issuer, aud: 'api://default', iat: t, exp: t + 3600, cid: '0oa9service', scp: ['orders.read'], sub: '0oa9service',
    }));
    assert.equal(id.subject, '0oa9service');
    assert.equal(id.clientId, '0oa9service');
  });
});

describe('preset cognito', () => {
  const issuer = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123';
  const appClient = '57cbishk4j24pabc1234567890';
  const base = { preset: 'cognito' as const, issuer, audience: [appClient] };
  const access = (extra: JWTPayload = {}): Promise<string> => {
    const t = now();
    return token({
      sub: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', device_key: 'eu-west-1_aaaaaaaa-bbbb', 'cognito:groups': ['admin', 'ops'],
      token_use: 'access', scope: 'aws.cognito.signin.user.admin openid orders/read', auth_time: t, iss: issuer, exp: t + 3600, iat: t,
      origin_jti: 'aaaaaaaa-1111', event_id: 'aaaaaaaa-2222', jti: 'aaaaaaaa-3333', client_id: appClient, username: 'janedoe', version: 2, ...extra,
    });
  };
  const idToken = (extra: JWTPayload = {}): Promise<string> => {
    const t = now();
    return token({
      at_hash: 'L8JRmFQ8-6H1nJx3NcbKsA', sub: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', 'cognito:groups': ['admin'], email_verified: true,
      iss: issuer, 'cognito:username': 'janedoe', origin_jti: 'aaaaaaaa-1111', aud: appClient, event_id: 'aaaaaaaa-2222',
      token_use: 'id', auth_time: t, exp: t + 3600, iat: t, jti: 'aaaaaaaa-4444', email: 'janedoe@example.com', ...extra,
    });
  };

  it('accepts an access token without aud: client_id is checked against audience; groups are roles too', async () => {
    const id = await ok(await provider(base), await access());
    assert.deepEqual(fields(id), {
      subject: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', clientId: appClient, tenant: undefined, roles: ['admin', 'ops'],
      groups: ['admin', 'ops'], scopes: ['aws.cognito.signin.user.admin', 'openid', 'orders/read'],
    });
    assert.equal(id.claims.username, 'janedoe');
  });

  it('accepts a machine-to-machine (client credentials) access token', async () => {
    const t = now();
    const m2m = await token({ sub: appClient, token_use: 'access', scope: 'orders/read', auth_time: t, iss: issuer, exp: t + 3600, iat: t, version: 2, jti: 'j', client_id: appClient });
    assert.deepEqual(fields(await ok(await provider(base), m2m)), { subject: appClient, clientId: appClient, tenant: undefined, roles: [], groups: [], scopes: ['orders/read'] });
  });

  it('refuses another app client\'s access token and an ID token on an access-only provider', async () => {
    const p = await provider(base);
    assert.deepEqual(await refused(p, await access({ client_id: '1example23456789' })), { code: 'audience_mismatch', detail: 'client_id is not one of the app client ids in audience' });
    assert.deepEqual(await refused(p, await idToken()), { code: 'claim_invalid', detail: 'token_use must be "access": this provider accepts Cognito access tokens only' });
  });

  it('tokenUse: id checks aud and refuses access tokens', async () => {
    const p = await provider({ ...base, tokenUse: 'id' });
    assert.equal((await ok(p, await idToken())).clientId, appClient);
    assert.equal((await refused(p, await idToken({ aud: 'another-client' }))).code, 'audience_mismatch');
    assert.deepEqual(await refused(p, await access({ aud: appClient })), { code: 'claim_invalid', detail: 'token_use must be "id": this provider accepts Cognito id tokens only' });
  });
});

describe('preset auth0', () => {
  const issuer = 'https://example.eu.auth0.com/';
  const api = 'https://api.example.com';
  const base = { preset: 'auth0' as const, issuer, audience: api, claims: { roles: 'https://example.com/roles' } };

  it('maps permissions and scope to scopes, a namespaced claim to roles, azp, org_id', async () => {
    const t = now();
    const id = await ok(await provider(base), await token({
      iss: issuer, sub: 'auth0|64f1c0ffee', aud: [api, 'https://example.eu.auth0.com/userinfo'], iat: t, exp: t + 86_400,
      scope: 'openid profile read:orders', azp: 'Xk3cLientIdAbc', permissions: ['read:orders', 'write:orders'],
      'https://example.com/roles': ['admin'], org_id: 'org_9ZbXyA',
    }, { typ: 'JWT' }));
    assert.deepEqual(fields(id), {
      subject: 'auth0|64f1c0ffee', clientId: 'Xk3cLientIdAbc', tenant: 'org_9ZbXyA', roles: ['admin'], groups: [],
      scopes: ['openid', 'profile', 'read:orders', 'write:orders'],
    });
  });

  it('maps a client-credentials token (gty) and keeps gty in the claims', async () => {
    const t = now();
    const id = await ok(await provider(base), await token({
      iss: issuer, sub: 'Xk3cLientIdAbc@clients', aud: api, iat: t, exp: t + 86_400, scope: 'read:orders', gty: 'client-credentials',
      azp: 'Xk3cLientIdAbc', permissions: ['read:orders'],
    }, { typ: 'JWT' }));
    assert.equal(id.subject, 'Xk3cLientIdAbc@clients');
    assert.equal(id.clientId, 'Xk3cLientIdAbc');
    assert.deepEqual(id.scopes, ['read:orders']);
    assert.equal(id.claims.gty, 'client-credentials');
  });

  it('refuses an issuer without the trailing slash Auth0 writes', () => {
    assert.throws(() => build({ ...base, issuer: 'https://example.eu.auth0.com' }), /Auth0 issuers end with "\/"/);
  });
});

describe('preset keycloak', () => {
  const issuer = 'https://sso.example.com/realms/acme';
  const kc = (extra: JWTPayload = {}): Promise<string> => {
    const t = now();
    return token({
      exp: t + 300, iat: t, auth_time: t, jti: 'onrtac:5d1c', iss: issuer, aud: ['orders-api', 'account'],
      sub: 'f3b2a1c0-9d8e-4f7a-b6c5-d4e3f2a1b0c9', typ: 'Bearer', azp: 'orders-web', sid: 'a1b2', acr: '1',
      'allowed-origins': ['https://orders.example.com'],
      realm_access: { roles: ['default-roles-acme', 'offline_access', 'uma_authorization'] },
      resource_access: { 'orders-api': { roles: ['orders.admin'] }, account: { roles: ['manage-account'] } },
      scope: 'openid email profile', email_verified: true, name: 'Alice Example', preferred_username: 'alice',
      given_name: 'Alice', family_name: 'Example', email: 'alice@example.com', groups: ['/ops'], ...extra,
    }, { typ: 'JWT' });
  };

  it('roles are realm roles plus the audience client\'s roles (not other clients\')', async () => {
    const id = await ok(await provider({ preset: 'keycloak', issuer, audience: 'orders-api' }), await kc());
    assert.deepEqual(fields(id), {
      subject: 'f3b2a1c0-9d8e-4f7a-b6c5-d4e3f2a1b0c9', clientId: 'orders-web', tenant: undefined,
      roles: ['default-roles-acme', 'offline_access', 'uma_authorization', 'orders.admin'], groups: ['/ops'], scopes: ['openid', 'email', 'profile'],
    });
    assert.equal(id.claims.preferred_username, 'alice');
  });

  it('clientId picks the client whose roles count; claims: still overrides', async () => {
    const id = await ok(await provider({ preset: 'keycloak', issuer, audience: 'orders-api', clientId: 'account', claims: { subject: 'preferred_username' } }), await kc());
    assert.deepEqual(id.roles, ['default-roles-acme', 'offline_access', 'uma_authorization', 'manage-account']);
    assert.equal(id.subject, 'alice');
  });

  it('refuses an ID token (typ "ID") presented as an access token', async () => {
    const p = await provider({ preset: 'keycloak', issuer, audience: 'orders-web' });
    assert.deepEqual(await refused(p, await kc({ typ: 'ID', aud: 'orders-web' })), { code: 'claim_invalid', detail: 'typ is not "Bearer": Keycloak ID and refresh tokens are not access tokens' });
  });
});

describe('preset google', () => {
  const issuer = 'https://accounts.google.com';
  const client = '1234987819200-okl8fq2mnjfa5lm8n5jb8v1vsq7mhsj4.apps.googleusercontent.com';
  const google = (extra: JWTPayload = {}): Promise<string> => {
    const t = now();
    return token({
      iss: issuer, azp: client, aud: client, sub: '110169484474386276334', hd: 'example.com', email: 'alice@example.com',
      email_verified: true, at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q', name: 'Alice Example', picture: 'https://lh3.googleusercontent.com/a/x',
      given_name: 'Alice', family_name: 'Example', iat: t, exp: t + 3600, ...extra,
    }, { typ: 'JWT' });
  };

  it('keeps sub as the subject, hd as tenant, email in the claims; accepts iss without the scheme', async () => {
    const p = await provider({ preset: 'google', issuer, audience: client });
    const id = await ok(p, await google());
    assert.deepEqual(fields(id), { subject: '110169484474386276334', clientId: client, tenant: 'example.com', roles: [], groups: [], scopes: [] });
    assert.equal(id.claims.email, 'alice@example.com');
    assert.equal((await ok(p, await google({ iss: 'accounts.google.com' }))).issuer, 'accounts.google.com');
  });

  it('hostedDomain refuses another domain and consumer accounts; requireEmailVerified refuses unverified email', async () => {
    const p = await provider({ preset: 'google', issuer, audience: client, hostedDomain: ['example.com', 'example.org'], requireEmailVerified: true });
    await ok(p, await google({ hd: 'example.org' }));
    await ok(p, await google({ email_verified: 'true' }));
    assert.deepEqual(await refused(p, await google({ hd: 'evil.example' })), { code: 'claim_invalid', detail: 'hd is not an accepted hosted domain' });
    assert.deepEqual(await refused(p, await google({ hd: undefined })), { code: 'claim_invalid', detail: 'the token has no hd claim: a Google Workspace account is required' });
    assert.deepEqual(await refused(p, await google({ email_verified: false })), { code: 'claim_invalid', detail: 'email_verified is not true' });
  });
});

describe('preset options', () => {
  it('an option of another preset, or one without a preset, is a config error', () => {
    assert.throws(() => build({ issuer: 'https://idp.example', audience: 'a', hostedDomain: 'example.com' }), /`hostedDomain` applies only with preset: google/);
    assert.throws(() => build({ preset: 'okta', issuer: 'https://idp.example', audience: 'a', tokenUse: 'id' }), /`tokenUse` applies only with preset: cognito/);
  });
});
