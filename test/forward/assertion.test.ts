import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { makeIdentity, type IdentityFields } from '../../src/identity/identity.js';
import { createAssertionSigner } from '../../src/outbound/assertion.js';

const FIELDS: IdentityFields = {
  provider: 'corp', issuer: 'https://idp.example', subject: 'alice', clientId: 'web', tenant: 't1',
  roles: ['admin'], groups: ['eng'], scopes: ['read'], authMethod: 'jwt', claims: { email: 'a@example.com' },
};
const ALICE = makeIdentity(FIELDS);
/** Alice with some fields changed (a new identity: its key is computed again). */
const aliceWith = (over: Partial<IdentityFields>) => makeIdentity({ ...FIELDS, ...over });

describe('identity assertions', () => {
  test('a minted assertion verifies against the published JWKS with aud = route and iss', async () => {
    const signer = await createAssertionSigner({ issuer: 'gatehouse-test' });
    const token = await signer.mint(ALICE, 'orders-api', 60);
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(signer.jwks), {
      issuer: 'gatehouse-test', audience: 'orders-api', algorithms: ['ES256'],
    });
    assert.equal(protectedHeader.kid, await calculateJwkThumbprint(signer.jwks.keys[0]!));
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.exp! - payload.iat!, 60);
    assert.equal(typeof payload.jti, 'string');
    assert.deepEqual(
      { provider: payload.provider, idp_iss: payload.idp_iss, client_id: payload.client_id, tenant: payload.tenant, roles: payload.roles, groups: payload.groups, scopes: payload.scopes, amr: payload.amr },
      { provider: 'corp', idp_iss: 'https://idp.example', client_id: 'web', tenant: 't1', roles: ['admin'], groups: ['eng'], scopes: ['read'], amr: ['jwt'] },
    );
    await assert.rejects(jwtVerify(token, createLocalJWKSet(signer.jwks), { audience: 'other-route' }));
  });

  test('an upstream\'s own issuer: iss of its assertions, cached apart from the gateway\'s', async () => {
    const signer = await createAssertionSigner({ issuer: 'https://gatehouse.example.com' });
    const own = await signer.mint(ALICE, 'api://orders-vm', 60, 'https://gatehouse.example.com/vms');
    const { payload } = await jwtVerify(own, createLocalJWKSet(signer.jwks), { issuer: 'https://gatehouse.example.com/vms', audience: 'api://orders-vm' });
    assert.equal(payload.sub, 'alice');
    assert.equal(signer.cached(ALICE, 'api://orders-vm', 60, 'https://gatehouse.example.com/vms'), own);
    assert.equal(signer.cached(ALICE, 'api://orders-vm', 60), undefined, 'the gateway issuer\'s assertion is another one');
    const gateway = await signer.mint(ALICE, 'api://orders-vm', 60);
    assert.notEqual(gateway, own);
    await jwtVerify(gateway, createLocalJWKSet(signer.jwks), { issuer: 'https://gatehouse.example.com', audience: 'api://orders-vm' });
    await assert.rejects(jwtVerify(own, createLocalJWKSet(signer.jwks), { issuer: 'https://gatehouse.example.com' }));
  });

  test('the JWKS carries only public key material', async () => {
    const signer = await createAssertionSigner({ issuer: 'g' });
    const [key] = signer.jwks.keys;
    assert.deepEqual(Object.keys(key!).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
  });

  test('cached within the ttl; a different audience or identity gets its own; concurrent mints share one', async () => {
    const signer = await createAssertionSigner({ issuer: 'g' });
    const [a, b] = await Promise.all([signer.mint(ALICE, 'r1', 60), signer.mint(ALICE, 'r1', 60)]);
    assert.equal(a, b);
    assert.equal(await signer.mint(aliceWith({ claims: {} }), 'r1', 60), a, 'claims outside the token do not split the cache');
    assert.notEqual(await signer.mint(ALICE, 'r2', 60), a);
    assert.notEqual(await signer.mint(aliceWith({ roles: ['admin', 'owner'] }), 'r1', 60), a);
    assert.notEqual(await signer.mint(aliceWith({ subject: 'bob' }), 'r1', 60), a);
  });

  test('a reused assertion comes back without a promise, per identity and route', async () => {
    const signer = await createAssertionSigner({ issuer: 'g' });
    const frozen = makeIdentity(FIELDS);
    assert.equal(signer.cached(frozen, 'r1', 60), undefined, 'nothing signed yet');
    const first = signer.mint(frozen, 'r1', 60);
    assert.ok(first instanceof Promise, 'the first one is being signed');
    const token = await first;
    const again = signer.cached(frozen, 'r1', 60);
    assert.equal(again, token, 'reused: the string itself');
    assert.equal(await signer.mint(frozen, 'r1', 60), token, 'mint hands out the cached one too');
    // Same content in another object: the same assertion; another route: its own.
    assert.equal(signer.cached(makeIdentity(FIELDS), 'r1', 60), token);
    assert.equal(signer.cached(frozen, 'r2', 60), undefined);
    assert.notEqual(await signer.mint(frozen, 'r2', 60), token);
    assert.equal(signer.cached(frozen, 'r1', 30), undefined);
    assert.notEqual(await signer.mint(frozen, 'r1', 30), token, 'another ttl is another assertion');
  });

  test('a fresh assertion is minted once less than 25% of the ttl remains', async () => {
    const signer = await createAssertionSigner({ issuer: 'g' });
    const first = await signer.mint(ALICE, 'r', 2);
    await new Promise((resolve) => setTimeout(resolve, 1700));
    assert.equal(signer.cached(ALICE, 'r', 2), undefined, 'no longer handed out');
    const second = await signer.mint(ALICE, 'r', 2);
    assert.notEqual(second, first);
    await jwtVerify(second, createLocalJWKSet(signer.jwks), { audience: 'r' });
    assert.equal(await signer.mint(ALICE, 'r', 2), second);
  });

  test('a configured PKCS#8 P-256 key signs, with its RFC 7638 thumbprint as kid', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const signer = await createAssertionSigner({ issuer: 'g', privateKeyPem: pem });
    const token = await signer.mint(ALICE, 'r', 60);
    const expectedKid = await calculateJwkThumbprint(publicKey.export({ format: 'jwk' }) as { kty: string; crv: string; x: string; y: string });
    assert.equal(decodeProtectedHeader(token).kid, expectedKid);
    await jwtVerify(token, createLocalJWKSet(signer.jwks), { audience: 'r' });
  });

  test('a wrong or malformed key is refused without echoing it', async () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    await assert.rejects(createAssertionSigner({ issuer: 'g', privateKeyPem: p384 }), /P-256/);
    const junk = '-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----';
    await assert.rejects(createAssertionSigner({ issuer: 'g', privateKeyPem: junk }), (err: Error) => {
      assert.doesNotMatch(err.message, /c2VjcmV0/);
      return true;
    });
  });
});
