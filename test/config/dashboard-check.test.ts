// Config validation of `admin.dashboard`: a way to sign in, and an SSO client that can work; each problem with file, line, path and fix.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/issue.js';

const FILE = '/etc/gatehouse/gatehouse.yaml';
const ENV = { SECRET: 'client-secret', KEY: 'a-session-key-of-at-least-32-characters!', TOKEN: 'a-dashboard-token-0123456789' };

function yaml(dashboard: string, login = true): string {
  return `providers:
  idp:
    type: oidc
    issuer: https://sso.example.com/realms/acme
    audience: api://app
${login ? '    login: { clientId: gatehouse, clientSecret: "${env:SECRET}", keys: ["${env:KEY}"] }\n' : ''}  keys:
    type: api-key
    keys: keys.yaml
admin:
  dashboard:
${dashboard.split('\n').map((l) => `    ${l}`).join('\n')}
routes:
  - { name: open, match: { path: /open }, public: true, upstream: { url: http://backend:8080 } }
`;
}

function problems(text: string): { message: string; issues: string[] } {
  try {
    loadConfigText(text, FILE, ENV);
    return { message: '', issues: [] };
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return { message: err.message, issues: err.issues.map((i) => `${i.path}: ${i.message}`) };
  }
}

describe('admin.dashboard in validation', () => {
  it('a token, an SSO sign-in reusing the provider\'s login client, its own client, or both, load', () => {
    for (const d of [
      'token: ${env:TOKEN}',
      'sso: { provider: idp, allow: [{ groups: [gatehouse-admins] }] }',
      'sso: { provider: idp, clientId: dash, clientSecret: "${env:SECRET}", externalUrl: "https://admin.example.com", allow: [{ subject: alice }] }',
      'token: ${env:TOKEN}\nsso: { provider: idp, allow: [{ claims: { email_verified: true } }] }',
    ]) assert.deepEqual(problems(yaml(d)).issues, [], d);
  });

  it('neither a token nor sso is refused with file, line, path and the fix', () => {
    const { message, issues } = problems(yaml('{}'));
    assert.equal(issues.length, 1);
    assert.match(message, /^\/etc\/gatehouse\/gatehouse\.yaml:\d+:\d+: admin\.dashboard: the dashboard has no way to sign in: set `token`.*`sso`/m);
  });

  it('sso names a provider that is unknown or not oidc (with a guess), or lacks a client', () => {
    assert.match(problems(yaml('sso: { provider: idq, allow: [{ subject: a }] }')).issues.join('\n'), /admin\/dashboard\/sso\/provider: unknown provider "idq".*did you mean "idp"/);
    assert.match(problems(yaml('sso: { provider: keys, allow: [{ subject: a }] }')).issues.join('\n'), /provider "keys" is of type api-key, not oidc/);
    const noClient = problems(yaml('sso: { provider: idp, allow: [{ subject: a }] }', false));
    assert.match(noClient.message, /gatehouse\.yaml:\d+:\d+: admin\.dashboard\.sso(\.clientId)?: missing required key "clientId": provider "idp" has no `login` block/);
    assert.match(problems(yaml('sso: { provider: idp, clientId: dash, allow: [{ subject: a }] }')).issues.join('\n'), /sso\/clientSecret: missing required key "clientSecret"/);
    assert.match(problems(yaml('sso: { provider: idp, clientSecret: "${env:SECRET}", allow: [{ subject: a }] }')).issues.join('\n'), /sso\/clientSecret: `clientSecret` is used only with `clientId`/);
  });

  it('sso needs allow rules (at least one) and the openid scope; the return origin is an origin', () => {
    assert.match(problems(yaml('sso: { provider: idp, allow: [] }')).issues.join('\n'), /admin\/dashboard\/sso\/allow/);
    assert.match(problems(yaml('sso: { provider: idp }')).issues.join('\n'), /admin\/dashboard\/sso(\/allow)?: .*allow/);
    assert.match(problems(yaml('sso: { provider: idp, scopes: [profile], allow: [{ subject: a }] }')).issues.join('\n'), /sso\/scopes: scopes must include "openid"/);
    assert.match(problems(yaml('sso: { provider: idp, externalUrl: "https://admin.example.com/dash", allow: [{ subject: a }] }')).issues.join('\n'), /sso\/externalUrl/);
  });
});
