import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { ABSENT, PENDING, type Authenticator, type AuthnRequest } from '../../src/authn/authenticator.js';
import { createBearerAuthenticator } from '../../src/authn/jwt/bearer.js';
import type { JwtProvider } from '../../src/authn/jwt/provider.js';
import { authenticateWith, authnRequest } from '../harness/authn.js';
import { providerFor, sign, startJwksServer, testKey, type JwksServer, type TestKey } from './fixtures.js';

const request = (r: { headers: IncomingHttpHeaders; query: string }): AuthnRequest => authnRequest(r);

async function outcome(a: Authenticator, req: { headers: IncomingHttpHeaders; query: string }): Promise<string | undefined> {
  const out = await authenticateWith(a, request(req));
  if (out === undefined) return undefined;
  return out.ok ? `ok:${out.identity.provider}` : out.refusal.code;
}

describe('bearer authenticator', () => {
  let one: JwksServer;
  let two: JwksServer;
  let k1: TestKey;
  let k2: TestKey;
  let p1: JwtProvider;
  let p2: JwtProvider;
  let token: string;

  before(async () => {
    k1 = await testKey('ES256');
    k2 = await testKey('ES256');
    one = await startJwksServer([k1.jwk]);
    two = await startJwksServer([k2.jwk]);
    ({ provider: p1 } = await providerFor(one, { name: 'one' }));
    ({ provider: p2 } = await providerFor(two, { name: 'two' }));
    token = await sign(k1, one.issuer);
  });
  after(async () => { p1.close(); p2.close(); await one.close(); await two.close(); });

  it('no credential, or another scheme, is "not mine"', async () => {
    const a = createBearerAuthenticator([p1], { header: true });
    // Decided synchronously: probe says ABSENT, and so does authenticate.
    assert.equal(a.probe(request({ headers: {}, query: '' })), ABSENT);
    assert.equal(a.probe(request({ headers: { authorization: 'Basic dXNlcjpwYXNz' }, query: 'x=1' })), ABSENT);
    assert.equal(await a.authenticate(request({ headers: { authorization: 'Basic dXNlcjpwYXNz' }, query: 'x=1' })), ABSENT);
    assert.equal(await outcome(a, { headers: {}, query: '' }), undefined);
    assert.equal(a.kind, 'bearer');
  });

  it('accepts the header with any scheme case', async () => {
    const a = createBearerAuthenticator([p1], { header: true });
    assert.equal(await outcome(a, { headers: { authorization: `bEaReR ${token}` }, query: '' }), 'ok:one');
  });

  it('refuses a token in the query string when the route does not accept it there', async () => {
    const a = createBearerAuthenticator([p1], { header: true });
    assert.equal(await outcome(a, { headers: {}, query: `access_token=${token}` }), 'token_location_not_allowed');
    assert.equal(await outcome(a, { headers: {}, query: `?a=1&access_token=${token}` }), 'token_location_not_allowed');
    // A header token still decides when one is present.
    assert.equal(await outcome(a, { headers: { authorization: `Bearer ${token}` }, query: 'access_token=x' }), 'ok:one');
  });

  it('refuses a header token on a route that only accepts the query parameter', async () => {
    const a = createBearerAuthenticator([p1], { header: false, query: 'token' });
    assert.equal(await outcome(a, { headers: { authorization: `Bearer ${token}` }, query: '' }), 'token_location_not_allowed');
    assert.equal(await outcome(a, { headers: {}, query: `token=${token}` }), 'ok:one');
    assert.equal(await outcome(a, { headers: {}, query: `token=${token}&token=${token}` }), 'token_malformed');
    assert.equal(await outcome(a, { headers: {}, query: `access_token=${token}` }), 'token_location_not_allowed');
  });

  it('accepts a configured cookie', async () => {
    const a = createBearerAuthenticator([p1], { header: true, cookie: 'gh_at' });
    assert.equal(await outcome(a, { headers: { cookie: `theme=dark; gh_at=${token}; x=y` }, query: '' }), 'ok:one');
    assert.equal(await outcome(a, { headers: { cookie: 'gh_at_other=1' }, query: '' }), undefined);
  });

  it('answers a token verified before synchronously, from the provider that verified it', async () => {
    const a = createBearerAuthenticator([p2, p1], { header: true });
    const fresh = await sign(k1, one.issuer, { jti: 'sync-hit' });
    const req = request({ headers: { authorization: `Bearer ${fresh}` }, query: '' });
    const before = { ...p1.stats };
    // The keys are held, so even the first sight is decided by probe: by a full verification.
    const first = a.probe(req);
    assert.ok(first !== ABSENT && first !== PENDING && first.ok, 'the first sight of a token is verified');
    assert.equal(p1.stats.verifications, before.verifications + 1, 'the first sight of a token is verified');
    assert.equal(p1.stats.cacheHits, before.cacheHits);
    // The second sight is verified again and admitted to the cache (a token seen once is not cached).
    const second = a.probe(req);
    assert.ok(second !== ABSENT && second !== PENDING && second.ok);
    assert.equal(p1.stats.verifications, before.verifications + 2);
    const again = a.probe(req);
    assert.ok(again !== ABSENT && again !== PENDING, 'a cached token needs no promise');
    assert.equal(again.ok && again.identity.provider, 'one');
    assert.equal(again.ok && again.identity, second.identity, 'the cached identity');
    assert.equal(p1.stats.verifications, before.verifications + 2, 'a cached token is not verified again');
    assert.equal(p1.stats.cacheHits, before.cacheHits + 1);
    // A different token (one character changed in the signature) is never served from that entry.
    const tampered = `${fresh.slice(0, -2)}${fresh.endsWith('AA') ? 'BB' : 'AA'}`;
    assert.equal(await outcome(a, { headers: { authorization: `Bearer ${tampered}` }, query: '' }), 'signature_invalid');
  });

  it('picks the provider by iss when a route has two', async () => {
    const a = createBearerAuthenticator([p1, p2], { header: true });
    assert.equal(await outcome(a, { headers: { authorization: `Bearer ${token}` }, query: '' }), 'ok:one');
    assert.equal(await outcome(a, { headers: { authorization: `Bearer ${await sign(k2, two.issuer)}` }, query: '' }), 'ok:two');
    // Signed by one's key but claiming two's issuer: two verifies it and refuses.
    const cross = await authenticateWith(a, request({ headers: { authorization: `Bearer ${await sign(k1, two.issuer)}` }, query: '' }));
    assert.deepEqual(cross, { ok: false, refusal: { code: 'unknown_key' }, provider: 'two', unverified: { issuer: two.issuer } });
  });

  it('refuses an issuer that is not on the route, and undecodable tokens', async () => {
    const a = createBearerAuthenticator([p2, p1], { header: true });
    assert.equal(await outcome(a, { headers: { authorization: `Bearer ${await sign(k1, 'https://elsewhere')}` }, query: '' }), 'issuer_unknown');
    assert.equal(await outcome(a, { headers: { authorization: 'Bearer not-a-jwt' }, query: '' }), 'token_malformed');
    const onlyTwo = createBearerAuthenticator([p2], { header: true });
    assert.equal(await outcome(onlyTwo, { headers: { authorization: `Bearer ${token}` }, query: '' }), 'issuer_unknown');
  });

  it('refuses to build with no provider or two providers sharing an issuer', () => {
    assert.throws(() => createBearerAuthenticator([], { header: true }));
    assert.throws(() => createBearerAuthenticator([p1, p1], { header: true }), /share the issuer/);
  });
});
