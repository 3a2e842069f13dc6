import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { exportSPKI, SignJWT, UnsecuredJWT } from 'jose';
import type { AuthnOutcome, Authenticator, AuthnRequest } from '../../src/authn/authenticator.js';
import { createBearerAuthenticator } from '../../src/authn/jwt/bearer.js';
import type { JwtProvider } from '../../src/authn/jwt/provider.js';
import { authenticateWith, authnRequest } from '../harness/authn.js';
import { AUDIENCE, now, providerFor, sign, startJwksServer, testKey, type JwksServer, type TestKey } from './fixtures.js';

function bearer(token: string): AuthnRequest {
  return authnRequest({ headers: { authorization: `Bearer ${token}` } });
}

/** The outcome of a request that carries a credential (never "not mine"). */
async function claimed(a: Authenticator, req: AuthnRequest): Promise<AuthnOutcome> {
  const out = await authenticateWith(a, req);
  assert.ok(out, 'the token is claimed');
  return out;
}

async function codeOf(a: Authenticator, token: string): Promise<string | undefined> {
  const out = await claimed(a, bearer(token));
  return out.ok ? undefined : out.refusal.code;
}

describe('JWT verification refusals', () => {
  let srv: JwksServer;
  let rsa: TestKey;
  let ec: TestKey;
  let provider: JwtProvider;
  let auth: Authenticator;

  before(async () => {
    rsa = await testKey('RS256');
    ec = await testKey('ES256');
    srv = await startJwksServer([rsa.jwk, ec.jwk]);
    ({ provider } = await providerFor(srv));
    auth = createBearerAuthenticator([provider], { header: true });
  });
  after(async () => { provider.close(); await srv.close(); });

  it('accepts a good RS256 token and maps the identity', async () => {
    const out = await claimed(auth, bearer(await sign(rsa, srv.issuer, { scope: 'a b', azp: 'cli' })));
    assert.ok(out.ok);
    assert.equal(out.identity.subject, 'alice');
    assert.equal(out.identity.provider, 'test');
    assert.equal(out.identity.issuer, srv.issuer);
    assert.equal(out.identity.clientId, 'cli');
    assert.deepEqual(out.identity.scopes, ['a', 'b']);
    assert.equal(out.identity.authMethod, 'jwt');
  });

  it('accepts ES256 and an aud array that contains the audience', async () => {
    assert.equal(await codeOf(auth, await sign(ec, srv.issuer, { aud: ['other', AUDIENCE] })), undefined);
  });

  it('refuses alg none before any key lookup', async () => {
    const before = srv.jwksRequests;
    const token = new UnsecuredJWT({ iss: srv.issuer, sub: 'alice', aud: AUDIENCE, exp: now() + 60 }).encode();
    assert.equal(await codeOf(auth, token), 'algorithm_not_allowed');
    assert.equal(srv.jwksRequests, before);
  });

  it('refuses HS256 signed with the RSA public key as HMAC secret', async () => {
    const secret = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
    const token = await new SignJWT({ iss: srv.issuer, sub: 'alice', aud: AUDIENCE, exp: now() + 60 })
      .setProtectedHeader({ alg: 'HS256', kid: rsa.kid }).sign(secret);
    assert.equal(await codeOf(auth, token), 'algorithm_not_allowed');
  });

  it('refuses an algorithm that does not fit the key type (RS256 header on the EC kid)', async () => {
    assert.equal(await codeOf(auth, await sign(rsa, srv.issuer, {}, { kid: ec.kid })), 'algorithm_not_allowed');
  });

  it('refuses a wrong issuer', async () => {
    assert.equal(await codeOf(auth, await sign(rsa, 'https://evil.example')), 'issuer_unknown');
  });

  it('refuses a wrong audience, and a missing one', async () => {
    assert.equal(await codeOf(auth, await sign(rsa, srv.issuer, { aud: 'api://other' })), 'audience_mismatch');
    assert.equal(await codeOf(auth, await sign(rsa, srv.issuer, { aud: undefined })), 'audience_mismatch');
  });

  it('refuses an expired token (beyond skew) but accepts one inside the skew', async () => {
    assert.equal(await codeOf(auth, await sign(rsa, srv.issuer, { iat: now() - 600, exp: now() - 100 })), 'token_expired');
    assert.equal(await codeOf(auth, await sign(rsa, srv.issuer, { iat: now() - 600, exp: now() - 10 })), undefined);
  });

  it('refuses nbf in the future', async () => {
    assert.equal(await codeOf(auth, await sign(rsa, srv.issuer, { nbf: now() + 120 })), 'token_not_yet_valid');
  });

  it('refuses iat in the future beyond the skew', async () => {
    assert.equal(await codeOf(auth, await sign(rsa, srv.issuer, { iat: now() + 120 })), 'token_issued_in_future');
  });

  it('refuses a token without exp or without subject as claim_invalid', async () => {
    assert.equal(await codeOf(auth, await sign(rsa, srv.issuer, { exp: undefined })), 'claim_invalid');
    assert.equal(await codeOf(auth, await sign(rsa, srv.issuer, { sub: undefined })), 'claim_invalid');
    assert.equal(await codeOf(auth, await sign(rsa, srv.issuer, { nbf: 'soon' as unknown as number })), 'claim_invalid');
  });

  it('refuses a tampered payload', async () => {
    const [h, , s] = (await sign(rsa, srv.issuer)).split('.');
    const forged = Buffer.from(JSON.stringify({ iss: srv.issuer, sub: 'admin', aud: AUDIENCE, exp: now() + 60 })).toString('base64url');
    assert.equal(await codeOf(auth, `${h}.${forged}.${s}`), 'signature_invalid');
  });

  it('refuses a token signed by another key under a published kid', async () => {
    const other = await testKey('RS256');
    assert.equal(await codeOf(auth, await sign(other, srv.issuer, {}, { kid: rsa.kid })), 'signature_invalid');
  });

  it('refuses an unknown kid', async () => {
    const other = await testKey('RS256');
    assert.equal(await codeOf(auth, await sign(other, srv.issuer)), 'unknown_key');
  });

  it('refuses malformed tokens and headers', async () => {
    for (const token of ['abc', 'a.b.c', 'a.b', `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.!!.x`]) {
      assert.equal(await codeOf(auth, token), 'token_malformed', token);
    }
    for (const authorization of ['Bearer', 'Bearer ', 'Bearer a b']) {
      const out = await claimed(auth, authnRequest({ headers: { authorization } }));
      assert.equal(out.ok ? 'ok' : out.refusal.code, 'token_malformed', authorization);
    }
  });

  it('refuses an unrecognised crit header as malformed', async () => {
    const token = await new SignJWT({ iss: srv.issuer, sub: 'alice', aud: AUDIENCE, exp: now() + 60 })
      .setProtectedHeader({ alg: 'RS256', kid: rsa.kid, crit: ['x-ext'], 'x-ext': 1 })
      .sign(rsa.privateKey, { crit: { 'x-ext': true } });
    assert.equal(await codeOf(auth, token), 'token_malformed');
  });
});

describe('JWT provider options', () => {
  let srv: JwksServer;
  let rsa: TestKey;
  before(async () => { rsa = await testKey('RS256'); srv = await startJwksServer([rsa.jwk]); });
  after(() => srv.close());

  it('requires typ when configured (jose typ comparison: at+jwt = application/at+jwt)', async () => {
    const { provider } = await providerFor(srv, { typ: 'at+jwt' });
    const a = createBearerAuthenticator([provider], { header: true });
    assert.equal(await codeOf(a, await sign(rsa, srv.issuer, {}, { typ: 'JWT' })), 'token_type_invalid');
    assert.equal(await codeOf(a, await sign(rsa, srv.issuer)), 'token_type_invalid');
    assert.equal(await codeOf(a, await sign(rsa, srv.issuer, {}, { typ: 'at+jwt' })), undefined);
    assert.equal(await codeOf(a, await sign(rsa, srv.issuer, {}, { typ: 'application/at+jwt' })), undefined);
    provider.close();
  });

  it('refuses tokens older than maxTokenAge, and future iat with maxTokenAge set', async () => {
    const { provider } = await providerFor(srv, { maxTokenAgeSec: 60, clockSkewSec: 0 });
    const a = createBearerAuthenticator([provider], { header: true });
    assert.equal(await codeOf(a, await sign(rsa, srv.issuer, { iat: now() - 120 })), 'token_too_old');
    assert.equal(await codeOf(a, await sign(rsa, srv.issuer, { iat: now() + 120 })), 'token_issued_in_future');
    assert.equal(await codeOf(a, await sign(rsa, srv.issuer, { iat: undefined })), 'claim_invalid');
    assert.equal(await codeOf(a, await sign(rsa, srv.issuer, { iat: now() - 10 })), undefined);
    provider.close();
  });

  it('refuses an algorithm outside the provider list even when the key could do it', async () => {
    const ps = await testKey('PS256');
    srv.keys = [rsa.jwk, ps.jwk];
    const { provider } = await providerFor(srv, { algorithms: ['RS256'] }, { algorithms: ['RS256'] });
    const a = createBearerAuthenticator([provider], { header: true });
    assert.equal(await codeOf(a, await sign(ps, srv.issuer)), 'algorithm_not_allowed');
    assert.equal(await codeOf(a, await sign(rsa, srv.issuer)), undefined);
    provider.close();
  });

  it('rejects HS* and none in the configuration itself', async () => {
    await assert.rejects(providerFor(srv, { algorithms: ['HS256'] }), /algorithms must be/);
    await assert.rejects(providerFor(srv, { algorithms: ['none'] }), /algorithms must be/);
  });
});
