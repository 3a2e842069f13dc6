// Config validation of the oauth2 and token-exchange credentials: what the schema cannot say.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { loadConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/issue.js';

const FILE = '/etc/gatehouse/gatehouse.yaml';
const ENV = { SECRET: 'from-the-environment' };
const PROVIDERS = { entra: { type: 'oidc', issuer: 'https://login.microsoftonline.com/t/v2.0', audience: 'api://gateway' } };

/** A config with one route whose upstream has `auth` (and `upstream` extras). */
function config(auth: Record<string, unknown>, route: Record<string, unknown> = { authenticate: ['entra'] }, upstream: Record<string, unknown> = {}): string {
  return stringify({ providers: PROVIDERS, routes: [{ name: 'r', match: { path: '/*' }, ...route, upstream: { url: 'http://backend:8080', ...upstream, auth: [auth] } }] });
}
const oauth2 = (o: Record<string, unknown> = {}) => ({ type: 'oauth2', tokenUrl: 'https://login.example.com/token', clientId: 'gw', clientSecret: '${env:SECRET}', ...o });
const exchange = (o: Record<string, unknown> = {}) => ({ type: 'token-exchange', tokenUrl: 'https://login.example.com/token', clientId: 'gw', clientSecret: '${env:SECRET}', audience: 'api://b', ...o });

function messages(text: string): string[] {
  try {
    loadConfigText(text, FILE, ENV);
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
}

describe('oauth2 and token-exchange credentials in validation', () => {
  it('valid configs load: oauth2 by tokenUrl, by issuer, private_key_jwt, client_assertion_file; token exchange and Entra OBO', () => {
    for (const auth of [
      oauth2(), oauth2({ tokenUrl: undefined, issuer: 'https://sso.example.com/realms/acme' }),
      oauth2({ clientSecret: undefined, clientAuth: 'private_key_jwt', privateKey: '${env:SECRET}', keyId: 'k1' }),
      oauth2({ clientSecret: undefined, clientAuth: 'client_assertion_file', clientAssertionFile: '/var/run/secrets/azure/tokens/azure-identity-token', tokenUrl: 'http://127.0.0.1:8080/token' }),
      exchange(), exchange({ audience: undefined, preset: 'entra-obo', scope: 'api://b/.default' }),
    ]) assert.deepEqual(messages(config(auth)), [], JSON.stringify(auth));
  });

  it('forwardAuthorization: true with a credential setting Authorization is a contradiction', () => {
    const [m, ...rest] = messages(config(oauth2(), undefined, { forwardAuthorization: true }));
    assert.deepEqual(rest, []);
    assert.match(m!, /^\/routes\/0\/upstream\/forwardAuthorization: route "r": `forwardAuthorization: true` contradicts the oauth2 credential/);
    assert.deepEqual(messages(config(oauth2({ header: 'x-backend-token' }), undefined, { forwardAuthorization: true })), [], 'another header: no conflict');
  });

  it('token exchange on a public route, or of a header the route does not accept, is refused', () => {
    assert.match(messages(config(exchange(), { public: true }))[0]!, /route "r" is public: a token-exchange credential needs an authenticated caller/);
    assert.match(messages(config(exchange(), { authenticate: ['entra'], token: { header: false, cookie: 'session' } }))[0]!, /^\/routes\/0\/token\/header: .*exchanges the token of the Authorization header/);
  });

  it('the endpoint: one of tokenUrl and issuer; https (http only to loopback)', () => {
    assert.match(messages(config(oauth2({ tokenUrl: undefined })))[0]!, /^\/routes\/0\/upstream\/auth\/0\/tokenUrl: missing required key "tokenUrl"/);
    assert.match(messages(config(oauth2({ tokenUrl: 'http://login.example.com/token' })))[0]!, /expected an https:\/\/ URL \(http:\/\/ only to a loopback address\)/);
    assert.match(messages(config(oauth2({ tokenUrl: 'not a url' })))[0]!, /expected a URL/);
  });

  it('client authentication: what the method needs, and nothing it does not use', () => {
    assert.match(messages(config(oauth2({ clientSecret: undefined })))[0]!, /auth\/0\/clientSecret: missing required key "clientSecret": `clientAuth: client_secret_basic` needs it/);
    assert.deepEqual(messages(config(oauth2({ clientAuth: 'private_key_jwt' }))).map((m) => m.split(': ')[0]), ['/routes/0/upstream/auth/0/privateKey', '/routes/0/upstream/auth/0/clientSecret']);
    assert.match(messages(config(oauth2({ keyId: 'k' })))[0]!, /`keyId` is not used with `clientAuth: client_secret_basic`/);
  });

  it('preset entra-obo: needs scope, exchanges the caller token, takes no audience', () => {
    const found = messages(config(exchange({ preset: 'entra-obo', subject: 'assertion' })));
    assert.ok(found.some((m) => m.includes('`preset: entra-obo` exchanges the caller\'s token')), found.join('\n'));
    assert.ok(found.some((m) => m.includes('missing required key "scope"')));
    assert.ok(found.some((m) => m.includes('`audience` is not used with `preset: entra-obo`')));
  });

  it('a client secret written as a literal is a warning; its value is never shown', () => {
    const loaded = loadConfigText(config(oauth2({ clientSecret: 'literal-secret-value' })), FILE, ENV);
    assert.ok(loaded.warnings.some((w) => w.includes('clientSecret') && w.includes('secret written as a literal')), loaded.warnings.join('\n'));
    assert.ok(!loaded.warnings.join('').includes('literal-secret-value'));
  });
});
