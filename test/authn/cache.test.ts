import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JwtProvider } from '../../src/authn/jwt/provider.js';
import type { KeyStore } from '../../src/authn/jwt/jwks.js';
import { providerFor, sign, startJwksServer, testKey, type JwksServer, type TestKey } from './fixtures.js';

describe('verified-token cache', () => {
  let srv: JwksServer;
  let k1: TestKey;
  let k2: TestKey;
  const open: JwtProvider[] = [];
  const make = async (extra = {}): Promise<{ provider: JwtProvider; keys: KeyStore }> => {
    const made = await providerFor(srv, extra);
    open.push(made.provider);
    return made;
  };

  before(async () => { k1 = await testKey('ES256'); k2 = await testKey('ES256'); srv = await startJwksServer(); });
  after(async () => { for (const p of open) p.close(); await srv.close(); });

  it('admits a token on its second verification and serves it from then on, with the same identity', async () => {
    srv.keys = [k1.jwk];
    const { provider } = await make();
    const token = await sign(k1, srv.issuer);
    assert.ok((await provider.verify(token)).ok);
    assert.deepEqual(provider.stats, { verifications: 1, cacheHits: 0, cacheSize: 0 }, 'a token seen once is only noted');
    const a = await provider.verify(token);
    const b = await provider.verify(token);
    assert.ok(a.ok && b.ok);
    assert.equal(b.identity, a.identity);
    assert.deepEqual(provider.stats, { verifications: 2, cacheHits: 1, cacheSize: 1 });
    assert.ok(Object.isFrozen(a.identity) && Object.isFrozen(a.identity.claims));
    // The cached answer is there without a promise.
    assert.equal(provider.cached(token), b);
  });

  it('keeps nothing of tokens verified once: a flood of one-time tokens leaves the cache empty', async () => {
    srv.keys = [k1.jwk];
    const { provider } = await make({ cacheSize: 8 });
    const tokens = await Promise.all(Array.from({ length: 40 }, (_, i) => sign(k1, srv.issuer, { jti: `once-${i}` })));
    for (const t of tokens) assert.ok((await provider.verify(t)).ok);
    assert.deepEqual(provider.stats, { verifications: 40, cacheHits: 0, cacheSize: 0 });
    // The last one used again soon is admitted on that second verification and served from its third use.
    for (let i = 0; i < 2; i++) assert.ok((await provider.verify(tokens[39]!)).ok);
    assert.deepEqual(provider.stats, { verifications: 41, cacheHits: 1, cacheSize: 1 });
  });

  it('never serves another token: same claims or a forged signature still go through jose', async () => {
    srv.keys = [k1.jwk];
    const { provider } = await make();
    const token = await sign(k1, srv.issuer, { jti: 'one' });
    assert.ok((await provider.verify(token)).ok);
    const forged = `${token.slice(0, token.lastIndexOf('.'))}.${Buffer.alloc(64).toString('base64url')}`;
    const r = await provider.verify(forged);
    assert.equal(r.ok ? 'ok' : r.refusal.code, 'signature_invalid');
    assert.ok((await provider.verify(await sign(k1, srv.issuer, { jti: 'two' }))).ok);
    assert.equal(provider.stats.verifications, 3);
  });

  it('does not cache failures', async () => {
    srv.keys = [k1.jwk];
    const { provider } = await make();
    const token = await sign(k1, srv.issuer, { aud: 'nope' });
    await provider.verify(token);
    await provider.verify(token);
    assert.deepEqual(provider.stats, { verifications: 2, cacheHits: 0, cacheSize: 0 });
  });

  it('invalidates entries verified by a key that left the JWKS', async () => {
    srv.keys = [k1.jwk, k2.jwk];
    const { provider, keys } = await make();
    const byK1 = await sign(k1, srv.issuer);
    const byK2 = await sign(k2, srv.issuer);
    for (const t of [byK1, byK1, byK2, byK2]) assert.ok((await provider.verify(t)).ok);
    assert.equal(provider.stats.cacheSize, 2);
    srv.keys = [k2.jwk];
    await keys.refresh();
    const r = await provider.verify(byK1);
    assert.equal(r.ok ? 'ok' : r.refusal.code, 'unknown_key');
    assert.ok((await provider.verify(byK2)).ok);
    assert.equal(provider.stats.cacheHits, 1, 'the k2 token is still cached');
  });

  it('refuses an expired cached token', async () => {
    srv.keys = [k1.jwk];
    const { provider } = await make({ clockSkewSec: 0 });
    const exp = Math.ceil(Date.now() / 1000) + 1;
    const token = await sign(k1, srv.issuer, { exp });
    for (let i = 0; i < 3; i++) assert.ok((await provider.verify(token)).ok);
    assert.equal(provider.stats.cacheHits, 1);
    await sleep(exp * 1000 - Date.now() + 50);
    const r = await provider.verify(token);
    assert.equal(r.ok ? 'ok' : r.refusal.code, 'token_expired');
    assert.equal(provider.stats.cacheHits, 1);
  });

  it('is bounded and evicts the oldest insertion', async () => {
    srv.keys = [k1.jwk];
    const { provider } = await make({ cacheSize: 3 });
    const tokens = await Promise.all([1, 2, 3, 4].map((i) => sign(k1, srv.issuer, { jti: `t${i}` })));
    // Each admitted in turn (verified until cached: two tokens noted in one slot delay each other).
    for (const t of tokens) for (let i = 0; i < 4 && provider.cached(t) === undefined; i++) await provider.verify(t);
    assert.equal(provider.stats.cacheSize, 3);
    assert.equal(provider.cached(tokens[0]!), undefined, 'the first token was evicted');
    const { cacheHits, verifications } = provider.stats;
    await provider.verify(tokens[3]!);
    assert.equal(provider.stats.cacheHits, cacheHits + 1);
    await provider.verify(tokens[0]!);
    assert.equal(provider.stats.cacheHits, cacheHits + 1, 'the evicted token is verified again');
    assert.equal(provider.stats.verifications, verifications + 1);
  });
});
