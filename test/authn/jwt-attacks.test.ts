// Attacks against the synchronous verification path (fast-jwt, one verifier per JWKS key): each is
// tried on the provider and must be refused with jose's refusal code; the signature-level ones are
// also tried on the key's fast-jwt verifier alone, which must refuse them by itself.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeyObject, sign as rsaSign } from 'node:crypto';
import { TokenError } from 'fast-jwt';
import { exportSPKI, FlattenedSign, SignJWT, UnsecuredJWT } from 'jose';
import type { JwtProvider } from '../../src/authn/jwt/provider.js';
import type { KeyStore } from '../../src/authn/jwt/jwks.js';
import type { VerifyingKey } from '../../src/authn/jwt/key-resolver.js';
import { AUDIENCE, now, providerFor, sign, startJwksServer, testKey, type JwksServer, type TestKey } from './fixtures.js';

const codeOf = async (p: JwtProvider, token: string): Promise<string> => {
  const r = await p.verify(token);
  return r.ok ? 'ok' : r.refusal.code;
};

/** The fast-jwt error code the verifier of `key` throws for `token` ('ok' when it accepts). */
function verifierCode(key: VerifyingKey, token: string): string {
  try {
    key.verify(token);
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof TokenError, String(err));
    return err.code;
  }
}

function swapPayload(token: string, claims: Record<string, unknown>): string {
  const [h, , s] = token.split('.');
  return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
}

describe('JWT attacks on the synchronous path', () => {
  let srv: JwksServer;
  let rsa: TestKey;
  let ec: TestKey;
  let provider: JwtProvider;
  let keys: KeyStore;
  let rsaVerifier: VerifyingKey;

  before(async () => {
    rsa = await testKey('RS256');
    ec = await testKey('ES256');
    srv = await startJwksServer([rsa.jwk, ec.jwk]);
    ({ provider, keys } = await providerFor(srv, { typ: 'at+jwt' }));
    rsaVerifier = keys.lookup({ kid: rsa.kid, alg: 'RS256' }) as VerifyingKey;
  });
  after(async () => { provider.close(); await srv.close(); });

  const good = (claims = {}, header = {}): Promise<string> => sign(rsa, srv.issuer, claims, { typ: 'at+jwt', ...header });

  it('accepts a good token, and its verifier was built at load (a value, not a promise)', async () => {
    assert.equal(typeof rsaVerifier.verify, 'function');
    assert.equal(await codeOf(provider, await good()), 'ok');
  });

  it('alg none: refused before any key lookup; the verifier alone refuses the missing signature', async () => {
    const token = new UnsecuredJWT({ iss: srv.issuer, sub: 'alice', aud: AUDIENCE, exp: now() + 60 }).encode();
    const fetches = srv.jwksRequests;
    assert.equal(await codeOf(provider, token), 'algorithm_not_allowed');
    assert.equal(srv.jwksRequests, fetches);
    assert.equal(verifierCode(rsaVerifier, token), TokenError.codes.missingSignature);
  });

  it('HS256 signed with the RSA public key PEM as the HMAC secret', async () => {
    const secret = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
    const token = await new SignJWT({ iss: srv.issuer, sub: 'alice', aud: AUDIENCE, exp: now() + 60 })
      .setProtectedHeader({ alg: 'HS256', kid: rsa.kid, typ: 'at+jwt' }).sign(secret);
    assert.equal(await codeOf(provider, token), 'algorithm_not_allowed');
    assert.equal(verifierCode(rsaVerifier, token), TokenError.codes.invalidAlgorithm);
  });

  it('ES256 header naming the RSA key (signed with an EC key)', async () => {
    const token = await sign(ec, srv.issuer, {}, { kid: rsa.kid, typ: 'at+jwt' });
    assert.equal(await codeOf(provider, token), 'algorithm_not_allowed');
    assert.equal(verifierCode(rsaVerifier, token), TokenError.codes.invalidAlgorithm);
  });

  it('a tampered payload', async () => {
    const token = swapPayload(await good(), { iss: srv.issuer, sub: 'admin', aud: AUDIENCE, exp: now() + 60 });
    assert.equal(await codeOf(provider, token), 'signature_invalid');
    assert.equal(verifierCode(rsaVerifier, token), TokenError.codes.invalidSignature);
  });

  it('a rogue key signing under a trusted kid', async () => {
    const rogue = await testKey('RS256');
    const token = await sign(rogue, srv.issuer, {}, { kid: rsa.kid, typ: 'at+jwt' });
    assert.equal(await codeOf(provider, token), 'signature_invalid');
    assert.equal(verifierCode(rsaVerifier, token), TokenError.codes.invalidSignature);
  });

  it('a signature that is not base64url, or empty', async () => {
    const [h, p] = (await good()).split('.');
    assert.equal(await codeOf(provider, `${h}.${p}.!!!!`), 'token_malformed');
    assert.equal(await codeOf(provider, `${h}.${p}.`), 'signature_invalid');
  });

  it('an unknown crit header (and an unencoded b64 payload)', async () => {
    const critical = await new SignJWT({ iss: srv.issuer, sub: 'alice', aud: AUDIENCE, exp: now() + 60 })
      .setProtectedHeader({ alg: 'RS256', kid: rsa.kid, typ: 'at+jwt', crit: ['x-ext'], 'x-ext': 1 })
      .sign(rsa.privateKey, { crit: { 'x-ext': true } });
    assert.equal(await codeOf(provider, critical), 'token_malformed');
    assert.equal(verifierCode(rsaVerifier, critical), TokenError.codes.invalidCritHeader);
    // An RFC 7797 unencoded payload that happens to be base64url JSON: signed correctly, still not a JWT.
    const claims = Buffer.from(JSON.stringify({ iss: srv.issuer, sub: 'alice', aud: AUDIENCE, exp: now() + 60 })).toString('base64url');
    const jws = await new FlattenedSign(new TextEncoder().encode(claims))
      .setProtectedHeader({ alg: 'RS256', kid: rsa.kid, typ: 'at+jwt', crit: ['b64'], b64: false }).sign(rsa.privateKey);
    assert.equal(await codeOf(provider, `${jws.protected}.${claims}.${jws.signature}`), 'token_malformed');
    // No extension is understood, so none may be critical: not even b64 (fast-jwt: allowedCritHeaders []).
    assert.equal(await codeOf(provider, await good({}, { crit: ['b64'], b64: true })), 'token_malformed');
  });

  it('a wrong typ, and none', async () => {
    assert.equal(await codeOf(provider, await good({}, { typ: 'JWT' })), 'token_type_invalid');
    assert.equal(await codeOf(provider, await sign(rsa, srv.issuer)), 'token_type_invalid');
    assert.equal(verifierCode(rsaVerifier, await good({}, { typ: 'JWT' })), TokenError.codes.invalidType);
  });

  it('expired beyond the clock skew (30 s), but not within it', async () => {
    assert.equal(await codeOf(provider, await good({ iat: now() - 600, exp: now() - 31 })), 'token_expired');
    assert.equal(await codeOf(provider, await good({ iat: now() - 600, exp: now() - 20 })), 'ok');
  });

  it('nbf in the future beyond the skew', async () => {
    assert.equal(await codeOf(provider, await good({ nbf: now() + 60 })), 'token_not_yet_valid');
    assert.equal(await codeOf(provider, await good({ nbf: now() + 10 })), 'ok');
  });

  it('a missing exp, a missing aud, a non-numeric exp', async () => {
    assert.equal(await codeOf(provider, await good({ exp: undefined })), 'claim_invalid');
    assert.equal(verifierCode(rsaVerifier, await good({ exp: undefined })), TokenError.codes.missingRequiredClaim);
    assert.equal(await codeOf(provider, await good({ aud: undefined })), 'audience_mismatch');
    assert.equal(verifierCode(rsaVerifier, await good({ aud: undefined })), TokenError.codes.missingRequiredClaim);
    assert.equal(await codeOf(provider, await good({ exp: 'tomorrow' as unknown as number })), 'claim_invalid');
  });

  it('names the first failure in fast-jwt order when several claims fail', async () => {
    // Signature, crit, typ, required claims, then nbf, exp, iat, aud, iss: an expired token for another audience is expired.
    assert.equal(await codeOf(provider, await good({ aud: 'api://other', exp: now() - 100 })), 'token_expired');
    assert.equal(await codeOf(provider, await good({ aud: 'api://other' }, { typ: 'JWT' })), 'token_type_invalid');
    assert.equal(await codeOf(provider, await good({ nbf: now() + 120, exp: now() - 100 })), 'token_not_yet_valid');
  });

  it('a foreign issuer is refused before key lookup, even with an unknown kid', async () => {
    const stranger = await testKey('RS256');
    const fetches = srv.jwksRequests;
    assert.equal(await codeOf(provider, await sign(stranger, 'https://evil.example', {}, { typ: 'at+jwt' })), 'issuer_unknown');
    assert.equal(srv.jwksRequests, fetches);
  });

  it('settles a cache miss within the current microtask run (no threadpool round trip)', async () => {
    const token = await good({ jti: 'sync' });
    let settled = false;
    void provider.verify(token).then(() => { settled = true; });
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(settled, true);
  });
});

describe('where fast-jwt is stricter than jose was', () => {
  let srv: JwksServer;
  let rsa: TestKey;
  before(async () => { rsa = await testKey('RS256'); srv = await startJwksServer([rsa.jwk]); });
  after(() => srv.close());

  it('refuses a padded signature, an aud array with a non-string member, crit naming b64 twice', async () => {
    const { provider } = await providerFor(srv);
    const [h, p, s] = (await sign(rsa, srv.issuer)).split('.');
    assert.equal(await codeOf(provider, `${h}.${p}.${s}`), 'ok');
    // RFC 7515 base64url has no padding; jose decoded `==` anyway.
    assert.equal(await codeOf(provider, `${h}.${p}.${s}==`), 'token_malformed');
    assert.equal(await codeOf(provider, await sign(rsa, srv.issuer, { aud: [5, AUDIENCE] as unknown as string[] })), 'claim_invalid');
    // jose's signers refuse to write a duplicate crit entry, so this one is signed with node:crypto.
    const dup = `${Buffer.from(JSON.stringify({ alg: 'RS256', kid: rsa.kid, crit: ['b64', 'b64'], b64: true })).toString('base64url')}.${p}`;
    const signature = rsaSign('sha256', Buffer.from(dup), KeyObject.from(rsa.privateKey)).toString('base64url');
    assert.equal(await codeOf(provider, `${dup}.${signature}`), 'token_malformed');
    provider.close();
  });
});

describe('verified-token cache on the synchronous path', () => {
  let srv: JwksServer;
  let k1: TestKey;
  let k2: TestKey;
  before(async () => { k1 = await testKey('RS256'); k2 = await testKey('EdDSA'); srv = await startJwksServer([k1.jwk, k2.jwk]); });
  after(() => srv.close());

  it('serves a verified token from the cache and drops it when its key leaves the JWKS', async () => {
    const { provider, keys } = await providerFor(srv);
    const token = await sign(k1, srv.issuer);
    const first = await provider.verify(token);
    assert.deepEqual(provider.stats, { verifications: 1, cacheHits: 0, cacheSize: 0 }, 'a token seen once is not cached');
    const second = await provider.verify(token);
    const third = await provider.verify(token);
    assert.ok(first.ok && second.ok && third.ok);
    assert.equal(third, second, 'the cached result object');
    assert.deepEqual(provider.stats, { verifications: 2, cacheHits: 1, cacheSize: 1 });
    srv.keys = [k2.jwk];
    await keys.refresh();
    assert.equal(await codeOf(provider, token), 'unknown_key');
    assert.deepEqual(provider.stats, { verifications: 3, cacheHits: 1, cacheSize: 0 });
    assert.equal(await codeOf(provider, await sign(k2, srv.issuer)), 'ok');
    provider.close();
  });
});

describe('every supported algorithm verifies on the synchronous path', () => {
  const algorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
  let srv: JwksServer;
  let keysByAlg: Map<string, TestKey>;
  before(async () => {
    keysByAlg = new Map(await Promise.all(algorithms.map(async (alg) => [alg, await testKey(alg)] as const)));
    srv = await startJwksServer([...keysByAlg.values()].map((k) => k.jwk));
  });
  after(() => srv.close());

  it('accepts each, and refuses each tampered', async () => {
    const { provider } = await providerFor(srv, { algorithms }, { algorithms });
    for (const [alg, key] of keysByAlg) {
      const token = await sign(key, srv.issuer);
      assert.equal(await codeOf(provider, token), 'ok', alg);
      assert.equal(await codeOf(provider, swapPayload(token, { iss: srv.issuer, sub: 'x', aud: AUDIENCE, exp: now() + 60 })), 'signature_invalid', alg);
    }
    provider.close();
  });
});
