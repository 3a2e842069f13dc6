// The per-key verifiers of a KeyStore: built when keys are (re)loaded, never per request.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { KeyStore } from '../../src/authn/jwt/jwks.js';
import { REFETCH, type TokenVerifier, type VerifierFactory, type VerifyingKey } from '../../src/authn/jwt/key-resolver.js';
import { AUDIENCE, now, providerFor, startJwksServer, storeOptions, testKey, type JwksServer, type TestKey } from './fixtures.js';

const b64u = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

/** What a lookup answered: 'ok' for a key with its verifier, else the refusal code or REFETCH. */
const codeOf = (found: ReturnType<KeyStore['lookup']>): string => (typeof found === 'string' ? found : 'ok');

describe('KeyStore verifiers', () => {
  let srv: JwksServer;
  let rsa: TestKey;
  let ec: TestKey;
  const stores: KeyStore[] = [];
  const built: string[] = [];
  const factory: VerifierFactory = (_key, alg) => {
    built.push(alg);
    return (() => ({ alg })) as TokenVerifier;
  };
  const store = (): KeyStore => { const s = new KeyStore(storeOptions(srv)); stores.push(s); return s; };

  before(async () => { rsa = await testKey('RS256'); ec = await testKey('ES256'); srv = await startJwksServer(); });
  after(async () => { for (const s of stores) s.close(); await srv.close(); });

  it('builds one verifier per key and algorithm at load, reuses them on refresh, drops removed keys', async () => {
    srv.keys = [rsa.jwk];
    const s = store();
    s.useVerifiers(factory);
    built.length = 0;
    await s.start();
    // An RSA key without a JWK alg serves RS256 and PS256.
    assert.deepEqual(built.sort(), ['PS256', 'RS256']);
    const v = s.lookup({ kid: rsa.kid, alg: 'RS256' }) as VerifyingKey;
    for (let i = 0; i < 5; i++) assert.equal(s.lookup({ kid: rsa.kid, alg: 'RS256' }), v);
    assert.equal(built.length, 2, 'nothing is built per lookup');
    srv.keys = [rsa.jwk, ec.jwk];
    await s.refresh();
    assert.deepEqual(built.slice(2), ['ES256'], 'only the new key gets a verifier');
    assert.equal(s.lookup({ kid: rsa.kid, alg: 'RS256' }), v);
    srv.keys = [ec.jwk];
    await s.refresh();
    assert.equal(s.isCurrent(v.key), false);
    assert.equal(s.lookup({ kid: rsa.kid, alg: 'RS256' }), REFETCH, 'a kid no longer held may be refetched');
    await s.refresh();
    assert.notEqual(codeOf(s.lookup({ kid: rsa.kid, alg: 'RS256' })), 'ok', 'still gone after the refetch');
  });

  it('answers held keys at once, REFETCH only for an unknown kid (then the fetched key)', async () => {
    srv.keys = [rsa.jwk, ec.jwk];
    const s = store();
    s.useVerifiers(factory);
    await s.start();
    assert.equal(codeOf(s.lookup({ kid: ec.kid, alg: 'ES256' })), 'ok');
    assert.equal(codeOf(s.lookup({ alg: 'ES256' })), 'ok', 'the single key of an algorithm serves kid-less tokens');
    assert.equal(codeOf(s.lookup({ kid: ec.kid, alg: 'RS256' })), 'algorithm_not_allowed');
    assert.equal(codeOf(s.lookup({ kid: rsa.kid, alg: 'HS256' })), 'algorithm_not_allowed');
    const fresh = await testKey('RS256');
    srv.keys = [rsa.jwk, ec.jwk, fresh.jwk];
    assert.equal(s.lookup({ kid: fresh.kid, alg: 'RS256' }), REFETCH);
    await s.refresh();
    assert.equal(typeof (s.lookup({ kid: fresh.kid, alg: 'RS256' }) as VerifyingKey).verify, 'function');
  });

  it('builds verifiers for keys already held when the factory comes later', async () => {
    srv.keys = [rsa.jwk];
    const s = store();
    await s.start();
    assert.equal(s.lookup({ kid: rsa.kid, alg: 'RS256' }), 'unknown_key', 'no verifier yet: no key to verify with');
    s.useVerifiers(factory);
    assert.equal(typeof (s.lookup({ kid: rsa.kid, alg: 'RS256' }) as VerifyingKey).verify, 'function');
    assert.throws(() => s.useVerifiers(factory), /serves one provider/);
  });

  it('treats a key its verifier cannot be built for as unknown, and keeps the others', async () => {
    srv.keys = [rsa.jwk, ec.jwk];
    const s = store();
    s.useVerifiers((key, alg) => {
      if (alg === 'ES256') throw new Error('unsupported');
      return factory(key, alg);
    });
    await s.start();
    assert.equal(codeOf(s.lookup({ kid: ec.kid, alg: 'ES256' })), 'unknown_key');
    assert.equal(codeOf(s.lookup({ kid: rsa.kid, alg: 'RS256' })), 'ok');
  });
});

describe('weak keys', () => {
  it('does not hold an RSA key under 2048 bits, so its tokens are refused (fast-jwt would not check the size)', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const srv = await startJwksServer([{ ...publicKey.export({ format: 'jwk' }), kid: 'weak', use: 'sig' }]);
    const strong = await testKey('RS256');
    srv.keys = [...srv.keys, strong.jwk];
    const { provider } = await providerFor(srv);
    const input = `${b64u({ alg: 'RS256', kid: 'weak' })}.${b64u({ iss: srv.issuer, sub: 'alice', aud: AUDIENCE, exp: now() + 60 })}`;
    const token = `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
    const r = await provider.verify(token);
    assert.equal(r.ok ? 'ok' : r.refusal.code, 'unknown_key');
    provider.close();
    await srv.close();
  });
});
