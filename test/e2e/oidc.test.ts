import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { exportSPKI, SignJWT, UnsecuredJWT, generateKeyPair, type JWTPayload } from 'jose';
import { startOidcProvider, type TestOidcProvider } from '../harness/oidc-provider.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { rawRequest, type RawResponse } from '../harness/http.js';
import { startJwksServer, testKey, type JwksServer, type TestKey } from '../authn/fixtures.js';

// The whole path over HTTP: a real OpenID Provider (oidc-provider, client_credentials grant),
// discovery and JWKS fetched by the gateway, and every JWT refusal answered as RFC 6750 + RFC 9457.
let op: TestOidcProvider;
let jwks: JwksServer;
let key: TestKey;
let upstream: TestUpstream;
let gw: TestGateway;
const LOCAL_AUD = 'api://local';

before(async () => {
  op = await startOidcProvider();
  key = await testKey('RS256');
  jwks = await startJwksServer([key.jwk]);
  upstream = await startUpstream();
  gw = await startGateway({
    providers: {
      op: { type: 'oidc', issuer: op.issuer, audience: op.audience, unknownKeyCooldown: '0s', refreshInterval: '1h' },
      local: { type: 'oidc', issuer: jwks.issuer, jwksUri: jwks.jwksUri, audience: LOCAL_AUD, algorithms: ['RS256'] },
    },
    routes: [
      { name: 'api', match: { path: '/api/*' }, authenticate: ['op', 'local'], allow: [{ name: 'readers', scopes: ['read'] }, { name: 'local', provider: 'local' }], upstream: { url: upstream.url } },
    ],
  });
});
after(async () => { await gw.stop(); await upstream.close(); await jwks.close(); await op.stop().catch(() => undefined); });

const get = (headers: Record<string, string> = {}, path = '/api/data'): Promise<RawResponse> => rawRequest(gw.url, 'GET', path, headers);
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

function localToken(claims: JWTPayload = {}, opts: { kid?: string; alg?: string; iss?: string; aud?: string; exp?: number; nbf?: number } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ sub: 'svc-1', ...claims })
    .setProtectedHeader({ alg: opts.alg ?? 'RS256', kid: opts.kid ?? key.kid })
    .setIssuer(opts.iss ?? jwks.issuer).setAudience(opts.aud ?? LOCAL_AUD).setIssuedAt(now).setExpirationTime(opts.exp ?? now + 600);
  if (opts.nbf !== undefined) jwt.setNotBefore(opts.nbf);
  return jwt.sign(key.privateKey);
}

async function refused(res: RawResponse, code: string): Promise<void> {
  assert.equal(res.status, 401, `${code}: ${res.status} ${res.body}`);
  assert.equal(res.headers['content-type'], 'application/problem+json');
  const body = res.json();
  assert.equal(body.code, code);
  assert.equal(body.status, 401);
  assert.match(String(body.request_id), /^[0-9a-f]{32}$/);
  const challenge = res.headers['www-authenticate'] as string;
  if (code === 'token_missing') assert.equal(challenge, 'Bearer realm="gatehouse"');
  else assert.match(challenge, /^Bearer realm="gatehouse", error="invalid_token", error_description="/);
}

test('a client_credentials token from the real OP passes; identity reaches the upstream', async () => {
  const token = await op.clientCredentialsToken({ scope: 'read' });
  const res = await get(bearer(token));
  assert.equal(res.status, 200, res.body);
  const seen = upstream.seen.at(-1)!;
  assert.equal(seen.headers['x-gatehouse-client-id'], op.clientId);
  assert.equal(seen.headers['x-gatehouse-scopes'], 'read');
  assert.equal(seen.headers['x-gatehouse-provider'], 'op');
  const line = await gw.auditLine((l) => (l.identity as { provider?: string } | null)?.provider === 'op');
  assert.deepEqual(line?.decision, { allow: true, rule: 'readers', reason: 'allowed' });
  assert.equal(JSON.stringify(line).includes(token), false, 'the token never appears in audit');
});

test('the OP rotates its signing key: new tokens (new kid) still pass', async () => {
  const before = op.currentKid;
  await op.rotateKeys();
  assert.notEqual(op.currentKid, before);
  const res = await get(bearer(await op.clientCredentialsToken({ scope: 'read' })));
  assert.equal(res.status, 200, res.body);
});

test('the OP is stopped: tokens with cached keys pass, an unknown kid is refused', async () => {
  const cachedKidToken = await op.clientCredentialsToken({ scope: 'read' });
  await op.stop();
  assert.equal((await get(bearer(cachedKidToken))).status, 200);
  // A token claiming the OP's issuer but signed with a key the OP never published.
  const stranger = await generateKeyPair('RS256');
  const now = Math.floor(Date.now() / 1000);
  const forged = await new SignJWT({ sub: 'x', scope: 'read' }).setProtectedHeader({ alg: 'RS256', kid: 'never-published' })
    .setIssuer(op.issuer).setAudience(op.audience).setIssuedAt(now).setExpirationTime(now + 60).sign(stranger.privateKey);
  await refused(await get(bearer(forged)), 'unknown_key');
});

test('refusals: each JWT failure answers 401 with its stable code', async () => {
  const now = Math.floor(Date.now() / 1000);
  await refused(await get(), 'token_missing');
  await refused(await get({ authorization: 'Bearer not-a-jwt' }), 'token_malformed');
  await refused(await get({ authorization: 'Bearer a.b' }), 'token_malformed');
  await refused(await get(bearer(new UnsecuredJWT({ sub: 'root' }).setIssuer(jwks.issuer).setAudience(LOCAL_AUD).setExpirationTime(now + 60).encode())), 'algorithm_not_allowed');

  // HS256 "signed" with the RSA public key (PEM) as the HMAC secret: the classic key-confusion attack.
  const pem = await exportSPKI(key.publicKey);
  const confused = await new SignJWT({ sub: 'root' }).setProtectedHeader({ alg: 'HS256', kid: key.kid })
    .setIssuer(jwks.issuer).setAudience(LOCAL_AUD).setExpirationTime(now + 60).sign(new TextEncoder().encode(pem));
  await refused(await get(bearer(confused)), 'algorithm_not_allowed');

  await refused(await get(bearer(await localToken({}, { iss: 'https://evil.example' }))), 'issuer_unknown');
  await refused(await get(bearer(await localToken({}, { aud: 'api://other' }))), 'audience_mismatch');
  await refused(await get(bearer(await localToken({}, { exp: now - 3600 }))), 'token_expired');
  await refused(await get(bearer(await localToken({}, { nbf: now + 3600 }))), 'token_not_yet_valid');

  const good = await localToken();
  assert.equal((await get(bearer(good))).status, 200, 'the untampered token passes');
  const [h, p, s] = good.split('.');
  const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
  const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, sub: 'root' })).toString('base64url')}.${s}`;
  await refused(await get(bearer(tampered)), 'signature_invalid');

  const other = await testKey('RS256');
  const unknownKid = await new SignJWT({ sub: 'svc' }).setProtectedHeader({ alg: 'RS256', kid: other.kid })
    .setIssuer(jwks.issuer).setAudience(LOCAL_AUD).setIssuedAt(now).setExpirationTime(now + 60).sign(other.privateKey);
  await refused(await get(bearer(unknownKid)), 'unknown_key');

  await refused(await get({}, `/api/data?access_token=${good}`), 'token_location_not_allowed');
});

test('a refused request never reaches the upstream and is audited with its reason', async () => {
  const count = upstream.seen.length;
  const now = Math.floor(Date.now() / 1000);
  await get(bearer(await localToken({}, { exp: now - 60 * 60 })));
  assert.equal(upstream.seen.length, count);
  const line = await gw.auditLine((l) => (l.authn as { reason?: string }).reason === 'token_expired');
  assert.equal(line?.status, 401);
  assert.equal(line?.upstream, null);
});
