// The gateway's own token by the client credentials grant (oauth2TokenSource), against the real
// in-process oidc-provider: each client authentication method, discovery, caching, refresh, failure.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, exportJWK, exportPKCS8, generateKeyPair, jwtVerify } from 'jose';
import { startOidcProvider, type TestOidcProvider } from '../harness/oidc-provider.js';
import { oauth2TokenSource } from '../../src/outbound/credentials/oauth2/token-source.js';
import type { OAuth2ClientConfig } from '../../src/outbound/credentials/oauth2/schema.js';

let op: TestOidcProvider;
const SECRET = 'gw-secret-made-for-this-test-0123456789';
let rsaPem: string;
let ecPem: string;
const ctx = { baseDir: process.cwd() };

before(async () => {
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const ec = await generateKeyPair('ES256', { extractable: true });
  rsaPem = await exportPKCS8(rsa.privateKey);
  ecPem = await exportPKCS8(ec.privateKey);
  const cc = { grant_types: ['client_credentials'], redirect_uris: [], response_types: [] };
  op = await startOidcProvider({
    clients: [
      { ...cc, client_id: 'gw-basic', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic' },
      { ...cc, client_id: 'gw-post', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_post' },
      { ...cc, client_id: 'gw-rsa', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' }] } },
      { ...cc, client_id: 'gw-ec', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' }] } },
    ],
  });
});
after(() => op.stop());

const base = (o: Partial<OAuth2ClientConfig>): OAuth2ClientConfig => ({ tokenUrl: `${op.issuer}/token`, clientId: 'gw-basic', clientAuth: 'client_secret_basic', timeout: '5s', refreshBefore: '60s', resource: op.audience, ...o });

async function verified(token: string, clientId: string): Promise<void> {
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${op.issuer}/jwks`)), { issuer: op.issuer, audience: op.audience });
  assert.equal(payload.client_id, clientId);
}

test('client_secret_basic, client_secret_post and private_key_jwt (RS256 and ES256 keys) each get a token the OP signed', async () => {
  for (const cfg of [
    base({ clientId: 'gw-basic', clientAuth: 'client_secret_basic', clientSecret: SECRET }),
    base({ clientId: 'gw-post', clientAuth: 'client_secret_post', clientSecret: SECRET }),
    base({ clientId: 'gw-rsa', clientAuth: 'private_key_jwt', privateKey: rsaPem, keyId: 'rsa-1' }),
    base({ clientId: 'gw-ec', clientAuth: 'private_key_jwt', privateKey: ecPem, keyId: 'ec-1', scope: ['read', 'write'] }),
  ]) {
    const source = oauth2TokenSource(cfg, ctx);
    await verified(await source.token(), cfg.clientId);
    assert.equal(source.label, `${cfg.clientId} at ${op.issuer}/token`);
    source.close();
  }
});

test('issuer: the token endpoint is found by discovery', async () => {
  const source = oauth2TokenSource(base({ tokenUrl: undefined, issuer: op.issuer, clientSecret: SECRET }), ctx);
  assert.equal(source.client.tokenUrl, `${op.issuer}/`, 'the issuer until discovery ran');
  await verified(await source.token(), 'gw-basic');
  assert.equal(source.client.tokenUrl, `${op.issuer}/token`);
  source.close();
});

test('one token request serves many uses; concurrent first uses share one request (single flight)', async () => {
  const source = oauth2TokenSource(base({ clientSecret: SECRET }), ctx);
  const before = op.tokenRequests;
  assert.equal(source.peek(), undefined);
  const tokens = await Promise.all(Array.from({ length: 20 }, () => source.token()));
  assert.equal(new Set(tokens).size, 1);
  for (let i = 0; i < 20; i++) assert.equal(await source.token(), tokens[0]);
  assert.equal(source.peek(), tokens[0], 'served synchronously once cached');
  assert.equal(op.tokenRequests - before, 1);
  source.close();
});

test('a new token is fetched once the current one is within refreshBefore of its expiry (600 s tokens)', async () => {
  let skew = 0;
  const source = oauth2TokenSource(base({ clientSecret: SECRET, refreshBefore: '60s' }), ctx, { now: () => Date.now() + skew });
  const first = await source.token();
  const before = op.tokenRequests;
  skew = 530_000;
  assert.equal(await source.token(), first, '70 s left: still the cached token');
  skew = 545_000;
  assert.equal(source.peek(), undefined, '55 s left: refreshed before use');
  const second = await source.token();
  assert.notEqual(second, first);
  assert.equal(op.tokenRequests - before, 1);
  source.close();
});

test('failures reject with a safe reason (never the secret); the next use tries again', async () => {
  const wrong = oauth2TokenSource(base({ clientSecret: 'not-the-secret-of-gw-basic' }), ctx);
  await assert.rejects(wrong.token(), (err: Error & { reason?: string }) => {
    assert.match(err.reason!, /^HTTP 401 invalid_client/);
    assert.ok(!err.reason!.includes('not-the-secret'));
    return true;
  });
  const source = oauth2TokenSource(base({ clientSecret: SECRET }), ctx);
  op.intercept((_req, res) => { res.writeHead(500, { 'content-type': 'text/html' }).end('<h1>down</h1>'); });
  await assert.rejects(source.token(), (err: Error & { reason?: string }) => err.reason === 'HTTP 500');
  op.intercept((_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'x'.repeat(70_000), token_type: 'Bearer' })); });
  await assert.rejects(source.token(), (err: Error & { reason?: string }) => /response too large/.test(err.reason!));
  op.intercept(undefined);
  await verified(await source.token(), 'gw-basic');
  await op.stop();
  const unreachable = oauth2TokenSource(base({ clientSecret: SECRET }), ctx);
  await assert.rejects(unreachable.token(), (err: Error & { reason?: string }) => /^request failed \((ECONNREFUSED|UND_ERR_SOCKET)\)$/.test(err.reason!));
  await op.restart();
  source.close();
  wrong.close();
});
