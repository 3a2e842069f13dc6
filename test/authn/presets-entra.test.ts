import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Static } from '@sinclair/typebox';
import type { JWTPayload } from 'jose';
import { createBearerAuthenticator } from '../../src/authn/jwt/bearer.js';
import { jwtProviderFromConfig, type JwtProvider } from '../../src/authn/jwt/provider.js';
import type { OidcProviderSchema } from '../../src/authn/jwt/schema.js';
import { authenticateWith, authnRequest } from '../harness/authn.js';
import { now, sign, startJwksServer, testKey, type JwksServer, type TestKey } from './fixtures.js';

// Tokens shaped like Microsoft Entra ID's documented v1.0 and v2.0 access tokens (claims, header with
// kid/x5t, issuer forms), signed with test keys. The local JWKS server stands in for Entra's keys
// endpoint (https://login.microsoftonline.com/common/discovery/v2.0/keys).

type Cfg = Static<typeof OidcProviderSchema>;
const T1 = '4b0911a0-929b-4715-944b-c03745165b3a';
const T2 = '9f3c2e71-5d1a-4c8e-b6a2-0e7d4f1c9b84';
const T3 = 'c2d4e6f8-1a3b-4c5d-8e9f-0a1b2c3d4e5f';
const API_CLIENT_ID = '6e74172b-be56-4843-9ff4-e66a39bb12e3';
const APP_ID_URI = 'api://metrics';
const v2 = (tid: string): string => `https://login.microsoftonline.com/${tid}/v2.0`;
const v1 = (tid: string): string => `https://sts.windows.net/${tid}/`;

let srv: JwksServer;
let key: TestKey;
const open: JwtProvider[] = [];

function build(extra: Partial<Cfg>, name = 'entra'): JwtProvider {
  const p = jwtProviderFromConfig(name, {
    type: 'oidc', preset: 'entra-id', issuer: v2(T1), jwksUri: srv.jwksUri, audience: [APP_ID_URI, API_CLIENT_ID],
    algorithms: ['RS256'], clockSkew: '30s', refreshInterval: '10m', unknownKeyCooldown: '0s', fetchTimeout: '2s', ...extra,
  });
  open.push(p);
  return p;
}

/** A started provider (keys loaded). */
async function provider(extra: Partial<Cfg>, name?: string): Promise<JwtProvider> {
  const p = build(extra, name);
  await p.start();
  return p;
}

/** A v2.0 app-only token (client credentials; application permissions in roles). */
function v2AppToken(tid = T1, extra: JWTPayload = {}): Promise<string> {
  const t = now();
  return sign(key, v2(tid), {
    aud: API_CLIENT_ID, iat: t, nbf: t, exp: t + 3600, aio: 'E2ZgYJj8mF3mZ6cG3v4TAA==', azp: '0c1a6e0b-7f37-4e8a-9b1d-2f5d7c3a9e10',
    azpacr: '1', idtyp: 'app', oid: '2f5a6b1c-3d4e-4f60-8a7b-9c0d1e2f3a4b', rh: '0.AXkAoBEJS5uSFUeUS8A3RRZbOitzdG5WvkNIn_TmajmbEuN5AAA.',
    roles: ['Metrics.Read'], sub: '2f5a6b1c-3d4e-4f60-8a7b-9c0d1e2f3a4b', tid, uti: 'fqiBqXLPj0eQa82S-IYFAA', ver: '2.0', ...extra,
  }, { typ: 'JWT' });
}

/** A v1.0 token of an Azure Data Factory managed identity: App ID URI audience, appid, roles, no scp. */
function v1ManagedIdentityToken(tid = T1): Promise<string> {
  const t = now();
  return sign(key, v1(tid), {
    aud: APP_ID_URI, iat: t, nbf: t, exp: t + 86_400, aio: 'k2BgYDD7u5eUm9u2jXf4AQA=', appid: '8d2b7e44-1f0c-4a65-9e3b-5c7a1d9f2e60',
    appidacr: '2', idp: v1(tid), idtyp: 'app', oid: '1e2d3c4b-5a69-4788-97a6-b5c4d3e2f1a0', rh: '0.AXkAoBEJS5uSFUeUS8A3RRZbOgcAAAAAAAAAwAAAAAAAAAB5AAA.',
    roles: ['Metrics.Read'], sub: '1e2d3c4b-5a69-4788-97a6-b5c4d3e2f1a0', tid, uti: 'Xb3mQ0r7XkWq9sXb1Y0RAA', ver: '1.0',
    xms_mirid: '/subscriptions/0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9/resourcegroups/data/providers/Microsoft.DataFactory/factories/adf-prod',
  }, { typ: 'JWT', x5t: key.kid });
}

/** A v2.0 delegated (user) token: scp, groups, pairwise sub, oid. */
function v2UserToken(): Promise<string> {
  const t = now();
  return sign(key, v2(T1), {
    aud: API_CLIENT_ID, iat: t, nbf: t, exp: t + 3600, aio: 'AVQAq/8TAAAA', azp: '0c1a6e0b-7f37-4e8a-9b1d-2f5d7c3a9e10', azpacr: '0',
    name: 'Alice Example', oid: '7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d', preferred_username: 'alice@contoso.example', rh: '0.AXkA.',
    scp: 'Metrics.Read Metrics.Write', sub: 'Qx8bJ3kQ2_pairwise_RgT1Vf9sE', tid: T1, uti: 'Yb2cQ0r7', ver: '2.0', groups: ['0b5c1e6f-ops'],
  }, { typ: 'JWT' });
}

async function ok(p: JwtProvider, token: string) {
  const r = await p.verify(token);
  assert.ok(r.ok, JSON.stringify(r));
  return r.identity;
}

async function refusal(p: JwtProvider, token: string): Promise<{ code: string; detail?: string }> {
  const r = await p.verify(token);
  assert.equal(r.ok, false, 'expected a refusal');
  return (r as { refusal: { code: string; detail?: string } }).refusal;
}

describe('preset entra-id', () => {
  before(async () => {
    key = await testKey('RS256');
    srv = await startJwksServer([key.jwk]);
  });
  after(async () => { for (const p of open) p.close(); await srv.close(); });

  it('maps a v2.0 app-only token: oid subject, azp client, tid tenant, application permissions as roles', async () => {
    const p = await provider({});
    const id = await ok(p, await v2AppToken());
    assert.equal(id.provider, 'entra');
    assert.equal(id.issuer, v2(T1));
    assert.equal(id.subject, '2f5a6b1c-3d4e-4f60-8a7b-9c0d1e2f3a4b');
    assert.equal(id.clientId, '0c1a6e0b-7f37-4e8a-9b1d-2f5d7c3a9e10');
    assert.equal(id.tenant, T1);
    assert.deepEqual(id.roles, ['Metrics.Read']);
    assert.deepEqual(id.scopes, []);
    assert.deepEqual(id.groups, []);
    assert.equal(id.claims.idtyp, 'app');
  });

  it('maps a v2.0 delegated token: oid (not the pairwise sub), space-separated scp, groups', async () => {
    const id = await ok(await provider({}), await v2UserToken());
    assert.equal(id.subject, '7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d');
    assert.deepEqual(id.scopes, ['Metrics.Read', 'Metrics.Write']);
    assert.deepEqual(id.groups, ['0b5c1e6f-ops']);
    assert.deepEqual(id.roles, []);
    assert.equal(id.claims.preferred_username, 'alice@contoso.example');
  });

  it('accepts the same tenant\'s v1.0 issuer: a Data Factory managed identity token (appid, roles, no scp)', async () => {
    const id = await ok(await provider({}), await v1ManagedIdentityToken());
    assert.equal(id.issuer, v1(T1));
    assert.equal(id.subject, '1e2d3c4b-5a69-4788-97a6-b5c4d3e2f1a0');
    assert.equal(id.clientId, '8d2b7e44-1f0c-4a65-9e3b-5c7a1d9f2e60');
    assert.equal(id.tenant, T1);
    assert.deepEqual(id.roles, ['Metrics.Read']);
    assert.deepEqual(id.scopes, []);
  });

  it('tokenVersions restricts the issuer forms: v1 vs v2', async () => {
    const only2 = await provider({ tokenVersions: ['2.0'] });
    assert.deepEqual(only2.issuers, [v2(T1)]);
    assert.deepEqual(await refusal(only2, await v1ManagedIdentityToken()), { code: 'issuer_unknown', detail: 'Entra ID v1.0 tokens are not accepted by this provider' });
    await ok(only2, await v2AppToken());
    const only1 = await provider({ tokenVersions: ['1.0'] });
    assert.deepEqual(await refusal(only1, await v2AppToken()), { code: 'issuer_unknown', detail: 'Entra ID v2.0 tokens are not accepted by this provider' });
    await ok(only1, await v1ManagedIdentityToken());
  });

  it('refuses another tenant, a foreign issuer, and an iss that does not name the token\'s tid', async () => {
    const p = await provider({});
    assert.deepEqual(await refusal(p, await v2AppToken(T2)), { code: 'issuer_unknown', detail: `tenant ${T2} is not accepted by this provider` });
    assert.deepEqual(await refusal(p, await sign(key, 'https://login.microsoftonline.com/common/v2.0', { aud: API_CLIENT_ID })), { code: 'issuer_unknown' });
    assert.deepEqual(await refusal(p, await v2AppToken(T1, { tid: T2 })), { code: 'issuer_unknown', detail: 'iss does not name the tenant in tid' });
  });

  it('multi-tenant: the {tenantid} template accepts allow-listed tenants (v1 and v2) and refuses others before fetching keys', async () => {
    const p = await provider({ issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0', tenants: [T1, T2.toUpperCase()] }, 'partners');
    assert.deepEqual(p.issuers, []);
    assert.ok(p.issuerPattern?.test(v2(T3)) && p.issuerPattern.test(v1(T3)));
    assert.equal((await ok(p, await v2AppToken(T1))).tenant, T1);
    assert.equal((await ok(p, await v2AppToken(T2))).tenant, T2);
    assert.equal((await ok(p, await v1ManagedIdentityToken(T2))).issuer, v1(T2));
    const fetches = srv.jwksRequests;
    const foreign = await sign(key, v2(T3), { tid: T3, aud: API_CLIENT_ID }, { kid: 'never-published' });
    assert.deepEqual(await refusal(p, foreign), { code: 'issuer_unknown', detail: `tenant ${T3} is not accepted by this provider` });
    assert.equal(srv.jwksRequests, fetches, 'a refused tenant cannot trigger unknown-kid refetches');
    // iss of an allowed tenant, tid of another: iss must be the template with the token's own tid.
    assert.deepEqual(await refusal(p, await v2AppToken(T1, { tid: T3 })), { code: 'issuer_unknown', detail: 'iss does not name the tenant in tid' });
  });

  it('the bearer authenticator routes template issuers after exact ones, without trying every provider', async () => {
    const single = await provider({ issuer: v2(T1) }, 'home');
    const multi = await provider({ issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0', tenants: [T1, T2] }, 'partners');
    const a = createBearerAuthenticator([multi, single], { header: true });
    const who = async (token: string): Promise<string> => {
      const out = await authenticateWith(a, authnRequest({ headers: { authorization: `Bearer ${token}` } }));
      assert.ok(out, 'the token is claimed');
      return out.ok ? out.identity.provider : `${out.refusal.code}:${out.refusal.detail ?? ''}`;
    };
    assert.equal(await who(await v2AppToken(T1)), 'home', 'an exact issuer wins over a template');
    assert.equal(await who(await v1ManagedIdentityToken(T1)), 'home');
    assert.equal(await who(await v2AppToken(T2)), 'partners');
    assert.equal(await who(await v2AppToken(T3)), `issuer_unknown:tenant ${T3} is not accepted by this provider`);
    assert.equal(await who(await sign(key, 'https://idp.example/')), 'issuer_unknown:');
    const twin = build({ issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0', tenants: [T3] }, 'twin');
    assert.throws(() => createBearerAuthenticator([multi, twin], { header: true }), /share the issuer/);
  });

  it('discovers keys from a v2.0-form issuer as usual (served locally) and still accepts the v1.0 issuer', async () => {
    const issuer = `${srv.issuer}/${T1}/v2.0`;
    srv.override(`/${T1}/v2.0/.well-known/openid-configuration`, { body: JSON.stringify({ issuer, jwks_uri: srv.jwksUri }) });
    const p = await provider({ issuer, jwksUri: undefined });
    assert.deepEqual(p.issuers, [issuer, v1(T1)]);
    const t = now();
    assert.equal((await ok(p, await sign(key, issuer, { aud: API_CLIENT_ID, tid: T1, oid: 'o-1', ver: '2.0', iat: t }))).subject, 'o-1');
    assert.equal((await ok(p, await v1ManagedIdentityToken())).tenant, T1);
  });

  it('refuses configs it cannot serve, naming the fix', () => {
    const bad = (extra: Partial<Cfg>, re: RegExp) => assert.throws(() => build(extra), re);
    bad({ issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0', tenants: [T1], jwksUri: undefined }, /set jwksUri/);
    bad({ issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0' }, /needs tenants/);
    bad({ tenants: [T2] }, /tenants applies only to an issuer with \{tenantid\}/);
    bad({ issuer: v1(T1) }, /must be the v2\.0 issuer/);
    bad({ issuer: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0' }, /tenant id as tokens carry it/);
    bad({ preset: 'okta', tenants: [T1] }, /`tenants` applies only with preset: entra-id/);
  });

  it('claims: overrides one field of the preset and keeps the others', async () => {
    const id = await ok(await provider({ claims: { subject: 'sub' } }), await v2UserToken());
    assert.equal(id.subject, 'Qx8bJ3kQ2_pairwise_RgT1Vf9sE');
    assert.deepEqual(id.scopes, ['Metrics.Read', 'Metrics.Write'], 'scopes still come from scp');
    assert.equal(id.clientId, '0c1a6e0b-7f37-4e8a-9b1d-2f5d7c3a9e10');
  });
});
