import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProtectedHeader } from 'jose';
import type { AuthnOutcome, Authenticator } from '../../src/authn/authenticator.js';
import { createBearerAuthenticator } from '../../src/authn/jwt/bearer.js';
import { jwtProviderFromConfig, type JwtProvider } from '../../src/authn/jwt/provider.js';
import { authenticateWith, authnRequest } from '../harness/authn.js';
import { startOidcProvider, type TestOidcProvider } from '../harness/oidc-provider.js';
import { sign, testKey } from './fixtures.js';

async function authenticate(a: Authenticator, token: string): Promise<AuthnOutcome> {
  const out = await authenticateWith(a, authnRequest({ headers: { authorization: `Bearer ${token}` } }));
  assert.ok(out, 'the token is claimed');
  return out;
}

describe('against a real OpenID Provider', () => {
  let op: TestOidcProvider;
  let provider: JwtProvider;
  let auth: Authenticator;

  before(async () => {
    op = await startOidcProvider();
    provider = jwtProviderFromConfig('op', {
      type: 'oidc', issuer: op.issuer, audience: op.audience, algorithms: ['RS256'], typ: 'at+jwt',
      clockSkew: '30s', refreshInterval: '10m', unknownKeyCooldown: '0s', fetchTimeout: '2s',
    });
    auth = createBearerAuthenticator([provider], { header: true });
  });
  after(async () => { provider.close(); await op.stop().catch(() => undefined); });

  it('discovers the keys and maps a client_credentials token to an identity', async () => {
    await provider.start();
    assert.equal(provider.ready, true);
    assert.equal(provider.health().keyCount, 1);
    const out = await authenticate(auth, await op.clientCredentialsToken({ scope: 'read write' }));
    assert.ok(out.ok, JSON.stringify(out));
    assert.equal(out.identity.provider, 'op');
    assert.equal(out.identity.issuer, op.issuer);
    assert.equal(out.identity.subject, op.clientId);
    assert.equal(out.identity.clientId, op.clientId);
    assert.deepEqual(out.identity.scopes, ['read', 'write']);
  });

  it('verifies a token signed with a rotated key (unknown kid → refetch)', async () => {
    const oldKid = op.currentKid;
    await op.rotateKeys();
    const token = await op.clientCredentialsToken();
    assert.notEqual(decodeProtectedHeader(token).kid, oldKid);
    const out = await authenticate(auth, token);
    assert.ok(out.ok, JSON.stringify(out));
    assert.equal(provider.health().keyCount, 2);
  });

  it('keeps verifying known kids while the OP is down, and refuses unknown kids', async () => {
    const cachedKid = await op.clientCredentialsToken({ scope: 'read' });
    await op.stop();
    const out = await authenticate(auth, cachedKid);
    assert.ok(out.ok, JSON.stringify(out));
    const stranger = await testKey('RS256');
    const forged = await sign(stranger, op.issuer, { aud: op.audience, sub: op.clientId }, { typ: 'at+jwt' });
    const refused = await authenticate(auth, forged);
    assert.deepEqual(refused, { ok: false, refusal: { code: 'unknown_key' }, provider: 'op', unverified: { issuer: op.issuer } });
    assert.match(provider.health().lastError ?? '', /^jwks: request failed/);
    assert.equal(provider.ready, true);
  });

  it('recovers after the OP restarts', async () => {
    await op.restart();
    await op.rotateKeys();
    const out = await authenticate(auth, await op.clientCredentialsToken());
    assert.ok(out.ok, JSON.stringify(out));
    assert.equal(provider.health().lastError, undefined);
  });
});
