// Sign-in with `private_key_jwt`: the gateway authenticates at the real provider's token endpoint with a signed client assertion, no secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { browse, CookieJar, startSsoEnv } from '../harness/sso.js';

test('a browser signs in through a client that authenticates with private_key_jwt', async () => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  process.env.GH_TEST_LOGIN_KEY = await exportPKCS8(privateKey);
  const jwk = { ...(await exportJWK(publicKey)), kid: 'login-1', alg: 'ES256', use: 'sig' };
  const env = await startSsoEnv({
    webClient: { token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'ES256', client_secret: undefined, jwks: { keys: [jwk] } },
    login: { clientAuth: 'private_key_jwt', clientSecret: undefined, privateKey: '${env:GH_TEST_LOGIN_KEY}', keyId: 'login-1' },
  });
  try {
    const nav = await browse(new CookieJar(), `${env.origin}/app/home`);
    assert.equal(nav.response.status, 200);
    const echoed = (await nav.response.json()) as { headers: Record<string, string> };
    assert.equal(echoed.headers['x-gatehouse-subject'], 'alice');
  } finally {
    await env.stop();
  }
});
