import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBearerAuthenticator, type AuthnOutcome, type AuthnRequest } from '../../src/authn/jwt/bearer.js';
import type { JwtProvider } from '../../src/authn/jwt/provider.js';
import { providerFor, sign, startJwksServer, testKey, type JwksServer, type TestKey } from './fixtures.js';

async function outcome(a: ReturnType<typeof createBearerAuthenticator>, req: AuthnRequest): Promise<string | undefined> {
  const out = (await a.authenticate(req)) as AuthnOutcome | undefined;
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
    assert.equal(a.authenticate({ headers: {}, query: '' }), undefined);
    assert.equal(a.authenticate({ headers: { authorization: 'Basic dXNlcjpwYXNz' }, query: 'x=1' }), undefined);
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
    const req = { headers: { authorization: `Bearer ${fresh}` }, query: '' };
    const first = a.authenticate(req);
    assert.ok(first instanceof Promise, 'the first sight of a token is verified');
    assert.equal(((await first) as AuthnOutcome).ok, true);
    const again = a.authenticate(req);
    assert.ok(!(again instanceof Promise), 'a cached token needs no promise');
    assert.equal((again as AuthnOutcome).ok && (again as { identity: { provider: string } }).identity.provider, 'one');
    // A different token (one character changed in the signature) is never served from that entry.
    const tampered = `${fresh.slice(0, -2)}${fresh.endsWith('AA') ? 'BB' : 'AA'}`;
    assert.equal(await outcome(a, { headers: { authorization: `Bearer ${tampered}` }, query: '' }), 'signature_invalid');
  });

  it('picks the provider by iss when a route has two', async () => {
    const a = createBearerAuthenticator([p1, p2], { header: true });
    assert.equal(await outcome(a, { headers: { authorization: `Bearer ${token}` }, query: '' }), 'ok:one');
    assert.equal(await outcome(a, { headers: { authorization: `Bearer ${await sign(k2, two.issuer)}` }, query: '' }), 'ok:two');
    // Signed by one's key but claiming two's issuer: two verifies it and refuses.
    const cross = (await a.authenticate({ headers: { authorization: `Bearer ${await sign(k1, two.issuer)}` }, query: '' })) as AuthnOutcome;
    assert.deepEqual(cross, { ok: false, refusal: { code: 'unknown_key' }, provider: 'two' });
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
