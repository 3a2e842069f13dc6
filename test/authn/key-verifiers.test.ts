// The per-key verifiers of a KeyStore: built when keys are (re)loaded, never per request.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { KeyStore } from '../../src/authn/jwt/jwks.js';
import type { TokenVerifier, VerifierFactory, VerifyingKey } from '../../src/authn/jwt/key-resolver.js';
import { AUDIENCE, now, providerFor, startJwksServer, storeOptions, testKey, type JwksServer, type TestKey } from './fixtures.js';

const b64u = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

const codeOf = (f: () => unknown): string => {
  try {
    f();
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
};

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
    const v = s.verifierFor({ kid: rsa.kid, alg: 'RS256' }) as VerifyingKey;
    for (let i = 0; i < 5; i++) assert.equal(s.verifierFor({ kid: rsa.kid, alg: 'RS256' }), v);
    assert.equal(built.length, 2, 'nothing is built per lookup');
    srv.keys = [rsa.jwk, ec.jwk];
    await s.refresh();
    assert.deepEqual(built.slice(2), ['ES256'], 'only the new key gets a verifier');
    assert.equal(s.verifierFor({ kid: rsa.kid, alg: 'RS256' }), v);
    srv.keys = [ec.jwk];
    await s.refresh();
    assert.equal(s.isCurrent(v.key), false);
    const gone = s.verifierFor({ kid: rsa.kid, alg: 'RS256' });
    assert.ok(gone instanceof Promise, 'a kid no longer held may be refetched');
    await assert.rejects(gone, { code: 'unknown_key' });
  });

  it('answers synchronously for held keys, with a promise only for an unknown kid', async () => {
    srv.keys = [rsa.jwk, ec.jwk];
    const s = store();
    s.useVerifiers(factory);
    await s.start();
    assert.ok(!(s.verifierFor({ kid: ec.kid, alg: 'ES256' }) instanceof Promise));
    assert.ok(!(s.verifierFor({ alg: 'ES256' }) instanceof Promise), 'the single key of an algorithm serves kid-less tokens');
    assert.equal(codeOf(() => s.verifierFor({ kid: ec.kid, alg: 'RS256' })), 'algorithm_not_allowed');
    assert.equal(codeOf(() => s.verifierFor({ kid: rsa.kid, alg: 'HS256' })), 'algorithm_not_allowed');
    const fresh = await testKey('RS256');
    srv.keys = [rsa.jwk, ec.jwk, fresh.jwk];
    const pending = s.verifierFor({ kid: fresh.kid, alg: 'RS256' });
    assert.ok(pending instanceof Promise);
    assert.equal(typeof (await pending).verify, 'function');
  });

  it('builds verifiers for keys already held when the factory comes later', async () => {
    srv.keys = [rsa.jwk];
    const s = store();
    await s.start();
    assert.throws(() => s.verifierFor({ kid: rsa.kid, alg: 'RS256' }), /no verifier factory/);
    s.useVerifiers(factory);
    assert.equal(typeof (s.verifierFor({ kid: rsa.kid, alg: 'RS256' }) as VerifyingKey).verify, 'function');
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
    assert.equal(codeOf(() => s.verifierFor({ kid: ec.kid, alg: 'ES256' })), 'unknown_key');
    assert.equal(codeOf(() => s.verifierFor({ kid: rsa.kid, alg: 'RS256' })), 'ok');
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
