// The cheap cache miss: headers decoded once per header bytes, claims parsed once (by the verifier)
// for a held key, the issuer still judged first. Each optimisation is tried with every cache on,
// against the attack it must not let through.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeyObject, sign as rsaSign } from 'node:crypto';
import { decodeToken, type DecodedToken } from '../../src/authn/jwt/decode.js';
import { createBearerAuthenticator } from '../../src/authn/jwt/bearer.js';
import type { JwtProvider } from '../../src/authn/jwt/provider.js';
import { PENDING } from '../../src/authn/authenticator.js';
import { AUDIENCE, now, providerFor, sign, startJwksServer, testKey, type JwksServer, type TestKey } from './fixtures.js';

const codeOf = async (p: JwtProvider, token: string): Promise<string> => {
  const r = await p.verify(token);
  return r.ok ? 'ok' : r.refusal.code;
};

/** A decoded token that counts how often its unverified claims were read. */
function counted(token: string): { d: DecodedToken; reads: () => number } {
  const inner = decodeToken(token)!;
  let n = 0;
  return { d: { token, header: inner.header, claims: () => { n++; return inner.claims(); } }, reads: () => n };
}

const settle = (r: ReturnType<JwtProvider['verifyNow']>): string => (r === PENDING ? 'pending' : r.ok ? 'ok' : r.refusal.code);

describe('cache-miss path', () => {
  let srv: JwksServer;
  let rsa: TestKey;
  let rogue: TestKey;
  let next: TestKey;
  let provider: JwtProvider;

  before(async () => {
    rsa = await testKey('RS256');
    next = await testKey('RS256');
    // Same kid as the trusted key: its tokens carry byte-identical headers.
    rogue = { ...(await testKey('RS256')), kid: rsa.kid };
    srv = await startJwksServer([rsa.jwk]);
    ({ provider } = await providerFor(srv));
  });
  after(async () => { provider.close(); await srv.close(); });

  it('verifies a held key\'s token without parsing its claims outside the verifier', async () => {
    const { d, reads } = counted(await sign(rsa, srv.issuer, { jti: 'once' }));
    assert.equal(settle(provider.verifyNow(d)), 'ok');
    assert.equal(reads(), 0);
  });

  it('shares a decoded header between tokens of one key, and still refuses a rogue key under that kid', async () => {
    const a = await sign(rsa, srv.issuer, { jti: 'a' });
    const b = await sign(rsa, srv.issuer, { jti: 'b' });
    const forged = await sign(rogue, srv.issuer, { jti: 'forged' });
    assert.equal(a.split('.')[0], forged.split('.')[0], 'the rogue token has the same header bytes');
    assert.equal(decodeToken(a)!.header, decodeToken(b)!.header, 'one header object for the same bytes');
    assert.equal(await codeOf(provider, a), 'ok');
    assert.equal(await codeOf(provider, forged), 'signature_invalid');
    // The forged token is never cached: asking again verifies (and refuses) again.
    const before = provider.stats.verifications;
    assert.equal(await codeOf(provider, forged), 'signature_invalid');
    assert.equal(provider.stats.verifications, before + 1);
  });

  it('keeps a new key\'s header shared after a flood of foreign headers (oldest dropped first)', async () => {
    for (let i = 0; i < 200; i++) decodeToken(`${Buffer.from(JSON.stringify({ alg: 'RS256', kid: `junk-${i}` })).toString('base64url')}.e30.`);
    const a = await sign(next, srv.issuer, { jti: 'n1' });
    const b = await sign(next, srv.issuer, { jti: 'n2' });
    assert.equal(decodeToken(a)!.header, decodeToken(b)!.header);
    assert.equal(Object.isFrozen(decodeToken(a)!.header), true, 'a shared header cannot be changed by one request');
  });

  it('keeps the issuer first: a foreign iss is issuer_unknown whatever else is wrong', async () => {
    const foreign = 'https://evil.example';
    // Signed by the trusted key (a held kid): the verifier accepts the signature, the issuer is refused.
    assert.equal(await codeOf(provider, await sign(rsa, foreign)), 'issuer_unknown');
    // A forged signature, an expired token, a disallowed alg: still the issuer.
    assert.equal(await codeOf(provider, await sign(rogue, foreign)), 'issuer_unknown');
    assert.equal(await codeOf(provider, await sign(rsa, foreign, { exp: now() - 1000 })), 'issuer_unknown');
    const es = await testKey('ES384');
    assert.equal(await codeOf(provider, await sign(es, foreign)), 'issuer_unknown');
    // An unknown kid of a foreign issuer causes no fetch.
    const fetches = srv.jwksRequests;
    assert.equal(await codeOf(provider, await sign(next, foreign)), 'issuer_unknown');
    assert.equal(srv.jwksRequests, fetches);
  });

  it('refuses claims that do not decode as malformed, held key or not, by no provider', async () => {
    const good = await sign(rsa, srv.issuer);
    const [h] = good.split('.');
    const notJson = Buffer.from('not json').toString('base64url');
    const input = `${h}.${notJson}`;
    const signature = rsaSign('sha256', Buffer.from(input), KeyObject.from(rsa.privateKey)).toString('base64url');
    assert.equal(await codeOf(provider, `${input}.${signature}`), 'token_malformed');
    const bearer = createBearerAuthenticator([provider], { header: true });
    const outcome = await bearer.authenticate({ headers: { authorization: `Bearer ${input}.${signature}` }, query: '' } as never);
    assert.ok(outcome !== null && typeof outcome === 'object' && 'ok' in outcome && !outcome.ok);
    assert.equal(outcome.refusal.code, 'token_malformed');
    assert.equal('provider' in outcome, false, 'as when decoding failed before any provider');
  });

  it('refuses a cached token once its key rotated out, and accepts the new key\'s tokens', async () => {
    const { provider: p, keys } = await providerFor(srv);
    const token = await sign(rsa, srv.issuer, { jti: 'rotate' });
    for (let i = 0; i < 3; i++) assert.equal(await codeOf(p, token), 'ok');
    assert.equal(p.stats.cacheHits, 1);
    srv.keys = [next.jwk];
    await keys.refresh();
    assert.equal(await codeOf(p, token), 'unknown_key');
    assert.equal(await codeOf(p, await sign(next, srv.issuer)), 'ok');
    // A token of the new key's kid signed by the old key is refused too.
    assert.equal(await codeOf(p, await sign({ ...rsa, kid: next.kid }, srv.issuer)), 'signature_invalid');
    srv.keys = [rsa.jwk];
    await keys.refresh();
    p.close();
  });

  it('answers the same codes as before for audience, expiry and type with the claims parsed once', async () => {
    assert.equal(await codeOf(provider, await sign(rsa, srv.issuer, { aud: 'api://other' })), 'audience_mismatch');
    assert.equal(await codeOf(provider, await sign(rsa, srv.issuer, { aud: undefined })), 'audience_mismatch');
    assert.equal(await codeOf(provider, await sign(rsa, srv.issuer, { exp: now() - 1000 })), 'token_expired');
    assert.equal(await codeOf(provider, await sign(rsa, srv.issuer, { iat: now() + 1000 })), 'token_issued_in_future');
    assert.equal(await codeOf(provider, await sign(rsa, srv.issuer, { aud: AUDIENCE })), 'ok');
  });
});
