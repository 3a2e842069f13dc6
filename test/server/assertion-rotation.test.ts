import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { makeIdentity } from '../../src/identity/identity.js';
import { createAssertionSigner, loadAssertionKey } from '../../src/outbound/assertion.js';
import { longestAssertionTtlMs } from '../../src/server/assertion-key.js';
import type { Config } from '../../src/config/schema.js';

// The signer's rotation rules, which reload (run.ts, the cluster primary) relies on. Deadlines are
// compared with what was asked for, never measured.

const ALICE = makeIdentity({ provider: 'corp', issuer: 'https://idp.example', subject: 'alice', roles: [], groups: [], scopes: [], authMethod: 'jwt', claims: {} });
const kids = (signer: { jwks: { keys: { kid?: string }[] } }): (string | undefined)[] => signer.jwks.keys.map((k) => k.kid);

test('a replaced key stays published for the longest assertion lifetime of any config it signed under, and until its last assertion expires', async () => {
  const signer = await createAssertionSigner({ issuer: 'g' });
  const a = signer.kid;
  const start = Date.now();
  const token = await signer.mint(ALICE, 'r', 30);
  // A reload from a config whose assertions lived 10 min, keeping the key; then one from a 1 s config rotates it.
  signer.rotate({ issuer: 'g', retainMs: 600_000 });
  const b = await loadAssertionKey();
  assert.deepEqual(signer.rotate({ key: b, issuer: 'g', retainMs: 1000 }), { key: true, issuer: false });
  assert.deepEqual(kids(signer), [b.kid, a]);
  assert.ok(signer.retired[0]!.until >= start + 600_000, 'the longest lifetime of the key\'s tenure, not the last config\'s');

  // Retained at least as long as the assertion it signed, even when no config asked for it.
  const other = await createAssertionSigner({ issuer: 'g' });
  const signed = await other.mint(ALICE, 'r', 45);
  other.rotate({ key: await loadAssertionKey(), issuer: 'g', retainMs: 0 });
  assert.ok(other.retired[0]!.until >= decodeJwt(signed).exp! * 1000);
  await jwtVerify(token, createLocalJWKSet(signer.jwks), { audience: 'r' });
});

test('after a rotation nothing cached is handed out again; an issuer change applies to new assertions with the same key', async () => {
  const signer = await createAssertionSigner({ issuer: 'g' });
  const first = await signer.mint(ALICE, 'r', 60);
  assert.equal(signer.cached(ALICE, 'r', 60), first);
  assert.deepEqual(signer.rotate({ issuer: 'g2', retainMs: 60_000 }), { key: false, issuer: true });
  assert.equal(signer.cached(ALICE, 'r', 60), undefined);
  const second = await signer.mint(ALICE, 'r', 60);
  assert.equal(decodeJwt(second).iss, 'g2');
  assert.equal(decodeProtectedHeader(second).kid, decodeProtectedHeader(first).kid);
  assert.equal(signer.jwks.keys.length, 1, 'the same key is not listed as retired');
});

test('rotating back to a retired key makes it the signing key again, listed once; a worker adopts its primary\'s retired list verbatim', async () => {
  const [a, b] = [await loadAssertionKey(), await loadAssertionKey()];
  const signer = await createAssertionSigner({ issuer: 'g' });
  signer.rotate({ key: a, issuer: 'g', retainMs: 60_000 });
  signer.rotate({ key: b, issuer: 'g', retainMs: 60_000 });
  signer.rotate({ key: a, issuer: 'g', retainMs: 60_000 });
  assert.equal(signer.kid, a.kid);
  assert.equal(kids(signer).filter((k) => k === a.kid).length, 1);
  assert.equal(kids(signer)[0], a.kid);

  const worker = await createAssertionSigner({ issuer: 'g' });
  worker.rotate({ key: a, issuer: 'g', retired: signer.retired });
  assert.deepEqual(worker.jwks, signer.jwks);
  // Expired entries are not published.
  worker.rotate({ key: a, issuer: 'g', retired: [{ jwk: b.jwk, until: Date.now() - 1 }] });
  assert.deepEqual(kids(worker), [a.kid]);
});

test('the retirement window is the longest assertion ttl of any route (assertion: true counts 60s)', () => {
  const route = (name: string, assertion: unknown): unknown => ({ name, match: { path: `/${name}` }, public: true, upstream: { url: 'http://127.0.0.1:1', assertion } });
  const config = (routes: unknown[]): Config => ({ routes } as unknown as Config);
  assert.equal(longestAssertionTtlMs(config([route('a', { ttl: '5s' }), route('b', { ttl: '2m' }), route('c', false)])), 120_000);
  assert.equal(longestAssertionTtlMs(config([route('a', true), route('b', { ttl: '5s' })])), 60_000);
  assert.equal(longestAssertionTtlMs(config([route('a', undefined)])), 0);
});
