import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { discoveryUrl, KeyStore } from '../../src/authn/jwt/jwks.js';
import { startJwksServer, storeOptions, testKey, type JwksServer, type TestKey } from './fixtures.js';

const codeOf = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));

describe('discovery URL', () => {
  it('strips trailing slashes of the issuer', () => {
    assert.equal(discoveryUrl('https://id.example/realms/a/'), 'https://id.example/realms/a/.well-known/openid-configuration');
    assert.equal(discoveryUrl('https://id.example'), 'https://id.example/.well-known/openid-configuration');
  });
});

describe('KeyStore', () => {
  let srv: JwksServer;
  let rsa: TestKey;
  let ec: TestKey;
  const stores: KeyStore[] = [];
  const store = (extra = {}): KeyStore => { const s = new KeyStore(storeOptions(srv, extra)); stores.push(s); return s; };

  before(async () => { rsa = await testKey('RS256'); ec = await testKey('ES256'); srv = await startJwksServer(); });
  after(async () => { for (const s of stores) s.close(); await srv.close(); });
  const reset = (): void => { srv.keys = [rsa.jwk, ec.jwk]; srv.override('/jwks', undefined); srv.override('/.well-known/openid-configuration', undefined); };

  it('discovers jwks_uri, imports the keys and reports health', async () => {
    reset();
    const s = store();
    assert.equal(s.ready, false);
    await s.start();
    assert.equal(s.ready, true);
    const h = s.health();
    assert.equal(h.keyCount, 2);
    assert.equal(h.lastError, undefined);
    assert.ok(typeof h.lastFetch === 'number');
    assert.equal((await s.getKey({ kid: rsa.kid, alg: 'RS256' })).type, 'public');
    assert.equal(await codeOf(s.getKey({ kid: ec.kid, alg: 'RS256' })), 'algorithm_not_allowed');
    assert.equal(await codeOf(s.getKey({ kid: rsa.kid, alg: 'ES256' })), 'algorithm_not_allowed');
    assert.equal(await codeOf(s.getKey({ kid: rsa.kid, alg: 'HS256' })), 'algorithm_not_allowed');
  });

  it('uses jwksUri directly without discovery', async () => {
    reset();
    srv.override('/.well-known/openid-configuration', { status: 500, body: '{}' });
    const s = store({ jwksUri: srv.jwksUri, discover: false });
    await s.start();
    assert.equal(s.health().keyCount, 2);
  });

  it('fails closed (provider_unavailable) when the first fetch fails, with a safe lastError', async () => {
    const cases: Array<[string, { status?: number; type?: string; body: string }, RegExp]> = [
      ['/.well-known/openid-configuration', { body: JSON.stringify({ issuer: 'https://other', jwks_uri: srv.jwksUri }) }, /issuer does not match/],
      ['/jwks', { status: 500, body: '{"secret":"x"}' }, /HTTP status 500/],
      ['/jwks', { type: 'text/html', body: '{"keys":[]}' }, /not application\/json/],
      ['/jwks', { body: 'not json' }, /not valid JSON/],
      ['/jwks', { body: JSON.stringify({ keys: [], pad: 'x'.repeat(1024 * 1024) }) }, /exceeds 1 MiB/],
      ['/jwks', { body: '{"nokeys":true}' }, /not a JSON Web Key Set/],
      ['/jwks', { body: '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}' }, /no usable signature key/],
    ];
    for (const [path, res, expected] of cases) {
      reset();
      srv.override(path, res);
      const s = store();
      assert.equal(await codeOf(s.start()), 'provider_unavailable', String(expected));
      assert.match(s.lastError ?? '', expected);
      assert.doesNotMatch(s.lastError ?? '', /secret/);
      assert.equal(s.ready, false);
      assert.equal(await codeOf(s.getKey({ kid: rsa.kid, alg: 'RS256' })), 'provider_unavailable');
      s.close();
    }
  });

  it('keeps retrying in the background after a failed start', async () => {
    reset();
    srv.override('/jwks', { status: 503, body: '' });
    const s = store();
    await assert.rejects(s.start());
    srv.override('/jwks', undefined);
    for (let i = 0; i < 40 && !s.ready; i++) await sleep(100);
    assert.equal(s.ready, true);
  });

  it('skips keys that are not usable signature keys', async () => {
    const enc = await testKey('RS256', { use: 'enc' });
    const wrongAlg = await testKey('RS256', { alg: 'RS512' });
    const priv = { ...rsa.jwk, kid: 'with-private', d: 'AAAA' };
    const noVerify = { ...ec.jwk, kid: 'sign-only', key_ops: ['sign'] };
    srv.keys = [rsa.jwk, enc.jwk, wrongAlg.jwk, priv, noVerify, { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' }, { kty: 'EC', crv: 'P-256', kid: 'broken', x: 'AA', y: 'AA' }];
    const s = store();
    await s.start();
    assert.equal(s.health().keyCount, 1);
    for (const kid of [enc.kid, 'with-private', 'sign-only', 'hmac', 'broken']) {
      assert.equal(await codeOf(s.getKey({ kid, alg: kid === 'sign-only' || kid === 'broken' ? 'ES256' : 'RS256' })), 'unknown_key', kid);
    }
  });

  it('binds a key to its JWK alg', async () => {
    const ps = await testKey('PS256', { alg: 'PS256', use: 'sig' });
    srv.keys = [ps.jwk];
    const s = store();
    await s.start();
    assert.equal((await s.getKey({ kid: ps.kid, alg: 'PS256' })).algorithm.name, 'RSA-PSS');
    assert.equal(await codeOf(s.getKey({ kid: ps.kid, alg: 'RS256' })), 'algorithm_not_allowed');
  });

  it('uses the single key for a kid-less token, refuses when ambiguous', async () => {
    reset();
    const s = store();
    await s.start();
    assert.equal((await s.getKey({ alg: 'ES256' })).algorithm.name, 'ECDSA');
    const ec2 = await testKey('ES256');
    srv.keys = [rsa.jwk, ec.jwk, ec2.jwk];
    await s.refresh();
    assert.equal(await codeOf(s.getKey({ alg: 'ES256' })), 'unknown_key');
  });

  it('refetches once for an unknown kid, shared by concurrent callers', async () => {
    reset();
    const s = store();
    await s.start();
    const fresh = await testKey('RS256');
    srv.keys = [rsa.jwk, ec.jwk, fresh.jwk];
    const before = srv.jwksRequests;
    const keys = await Promise.all(Array.from({ length: 10 }, () => s.getKey({ kid: fresh.kid, alg: 'RS256' })));
    assert.equal(srv.jwksRequests - before, 1);
    assert.ok(keys.every((k) => k === keys[0]));
  });

  it('does not refetch within the unknown-key cooldown', async () => {
    reset();
    const s = store({ unknownKeyCooldownMs: 60_000 });
    await s.start();
    const before = srv.jwksRequests;
    for (let i = 0; i < 5; i++) assert.equal(await codeOf(s.getKey({ kid: `nope-${i}`, alg: 'RS256' })), 'unknown_key');
    assert.equal(srv.jwksRequests, before);
  });

  it('drops keys that disappear, keeps unchanged key objects, keeps keys when a refresh fails', async () => {
    reset();
    const s = store();
    await s.start();
    const key = await s.getKey({ kid: rsa.kid, alg: 'RS256' });
    srv.keys = [rsa.jwk];
    await s.refresh();
    assert.equal(await s.getKey({ kid: rsa.kid, alg: 'RS256' }), key, 'unchanged key is not re-imported');
    assert.equal(s.isCurrent(key), true);
    srv.override('/jwks', { status: 500, body: '' });
    await s.refresh();
    assert.match(s.lastError ?? '', /500/);
    assert.equal(s.ready, true);
    assert.equal(await s.getKey({ kid: rsa.kid, alg: 'RS256' }), key);
    srv.override('/jwks', undefined);
    srv.keys = [ec.jwk];
    await s.refresh();
    assert.equal(s.lastError, undefined);
    assert.equal(s.isCurrent(key), false);
    assert.equal(await codeOf(s.getKey({ kid: rsa.kid, alg: 'RS256' })), 'unknown_key');
  });

  it('refuses bad intervals at construction', () => {
    assert.throws(() => new KeyStore(storeOptions(srv, { refreshIntervalMs: 0 })), /refreshInterval/);
    assert.throws(() => new KeyStore(storeOptions(srv, { fetchTimeoutMs: 0 })), /fetchTimeout/);
  });
});

const hasOpenssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

describe('KeyStore over TLS with a configured CA', { skip: !hasOpenssl && 'openssl not available' }, () => {
  let dir: string;
  let url: string;
  let close: (() => void) | undefined;
  let rsa: TestKey;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-ca-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    rsa = await testKey('RS256');
    const server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [rsa.jwk] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    close = () => { server.close(); server.closeAllConnections(); };
  });
  after(() => { close?.(); rmSync(dir, { recursive: true, force: true }); });

  it('trusts the configured CA and only it', async () => {
    const base = { issuer: 'https://tls.example', discover: false, jwksUri: url, fetchTimeoutMs: 2000, refreshIntervalMs: 60_000, unknownKeyCooldownMs: 0, algorithms: ['RS256'] };
    const untrusted = new KeyStore(base);
    assert.equal(await codeOf(untrusted.start()), 'provider_unavailable');
    assert.match(untrusted.lastError ?? '', /^jwks: request failed/);
    untrusted.close();
    const trusted = new KeyStore({ ...base, ca: readFileSync(join(dir, 'cert.pem'), 'utf8') });
    await trusted.start();
    assert.equal(trusted.health().keyCount, 1);
    trusted.close();
  });
});
