// Config validation of `login` blocks and `session:<provider>` references: every problem is named with file, line and path.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/issue.js';

const FILE = '/etc/gatehouse/gatehouse.yaml';
const ENV = { SECRET: 'client-secret', KEY: 'a-session-key-of-at-least-32-characters!', SHORT: 'too-short' };

function yaml(login: string, opts: { issuer?: string; authenticate?: string; extra?: string } = {}): string {
  return `providers:
  idp:
    type: oidc
    issuer: ${opts.issuer ?? 'https://sso.example.com/realms/acme'}
    audience: api://app
    login:
${login.split('\n').map((l) => `      ${l}`).join('\n')}
${opts.extra ?? ''}
routes:
  - name: app
    match: { path: /app/* }
    authenticate: [${opts.authenticate ?? 'session:idp, idp'}]
    upstream: { url: http://backend:8080 }
`;
}
const GOOD = 'clientId: gatehouse\nclientSecret: ${env:SECRET}\nkeys: ["${env:KEY}"]';

function problems(text: string): { message: string; issues: string[]; warnings: string[] } {
  try {
    loadConfigText(text, FILE, ENV);
    return { message: '', issues: [], warnings: [] };
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return { message: err.message, issues: err.issues.map((i) => `${i.path}: ${i.message}`), warnings: err.warnings.map((i) => `${i.line}: ${i.path}: ${i.message}`) };
  }
}

describe('login blocks in validation', () => {
  it('a complete login block loads, and session:<provider> is a known authenticator', () => {
    assert.deepEqual(problems(yaml(GOOD)).issues, []);
  });

  it('missing keys are named with file, line and path', () => {
    const { message, issues } = problems(yaml('clientId: gatehouse\nclientSecret: ${env:SECRET}'));
    assert.match(message, /^\/etc\/gatehouse\/gatehouse\.yaml:6:\d+: providers\.idp\.login\.keys: missing required key "keys"/m);
    assert.equal(issues.length, 1);
  });

  it('a short sealing key and a literal secret are refused at their place, the values never shown', () => {
    const { message, warnings } = problems(yaml('clientId: gatehouse\nclientSecret: literal-secret-value\nkeys: ["${env:SHORT}"]'));
    assert.match(message, /gatehouse\.yaml:9:\d+: providers\.idp\.login\.keys\[0\]: expected at least 32 characters/);
    assert.ok(warnings.some((w) => w.startsWith('8: /providers/idp/login/clientSecret: secret written as a literal value')), warnings.join('\n'));
    assert.doesNotMatch(message + warnings.join('\n'), /too-short|literal-secret-value/);
  });

  it('scopes without openid, a non-gh_ cookie name and a reserved callback path are refused', () => {
    const { issues } = problems(yaml(`${GOOD}\nscopes: [profile]\ncookie: { name: session }\nredirectPath: /.gatehouse/logout`));
    assert.ok(issues.some((i) => i.startsWith('/providers/idp/login/scopes: scopes must include "openid"')), issues.join('\n'));
    assert.ok(issues.some((i) => i.startsWith('/providers/idp/login/cookie/name:')), issues.join('\n'));
    assert.ok(issues.some((i) => i.startsWith('/providers/idp/login/redirectPath: /.gatehouse/logout is another gateway-owned endpoint')), issues.join('\n'));
  });

  it('an http issuer other than loopback, and an Entra {tenantid} template, cannot sign browsers in', () => {
    assert.match(problems(yaml(GOOD, { issuer: 'http://sso.example.com' })).issues.join('\n'), /\/providers\/idp\/issuer: expected an https:\/\/ issuer/);
    assert.deepEqual(problems(yaml(GOOD, { issuer: 'http://127.0.0.1:8080' })).issues, []);
  });

  it('session:<provider> of a provider without a login block, or of no provider, is refused at the route', () => {
    const noLogin = problems(`providers:\n  api:\n    type: oidc\n    issuer: https://sso.example.com\n    audience: a\nroutes:\n  - name: app\n    match: { path: /* }\n    authenticate: [session:api]\n    upstream: { url: http://b:1 }\n`);
    assert.deepEqual(noLogin.issues, ['/routes/0/authenticate/0: "session:api": provider "api" has no `login` block (browser sign-in needs one: docs/browser-sso.md)']);
    assert.match(noLogin.message, /gatehouse\.yaml:9:\d+: routes\[0\]\.authenticate\[0\]/);
    assert.match(problems(yaml(GOOD, { authenticate: 'session:idq' })).issues.join('\n'), /\/routes\/0\/authenticate\/0: unknown provider "session:idq"; did you mean "session:idp"\?/);
  });

  it('client authentication: a secret for client_secret_*, a privateKey (and no secret) for private_key_jwt', () => {
    assert.deepEqual(problems(yaml('clientId: gatehouse\nclientAuth: private_key_jwt\nprivateKey: ${env:SECRET}\nkeyId: k1\nkeys: ["${env:KEY}"]')).issues, []);
    assert.deepEqual(problems(yaml('clientId: gatehouse\nclientAuth: private_key_jwt\nkeys: ["${env:KEY}"]')).issues, ['/providers/idp/login/privateKey: missing required key "privateKey": `clientAuth: private_key_jwt` needs it']);
    assert.deepEqual(problems(yaml('clientId: gatehouse\nkeys: ["${env:KEY}"]')).issues, ['/providers/idp/login/clientSecret: missing required key "clientSecret": `clientAuth: client_secret_basic` needs it']);
    assert.deepEqual(problems(yaml('clientId: gatehouse\nclientAuth: private_key_jwt\nprivateKey: ${env:SECRET}\nclientSecret: ${env:SECRET}\nkeys: ["${env:KEY}"]')).issues, ['/providers/idp/login/clientSecret: `clientSecret` is not used with `clientAuth: private_key_jwt`']);
    assert.deepEqual(problems(yaml(`${GOOD}\nkeyId: k1`)).issues, ['/providers/idp/login/keyId: `keyId` is used only with `clientAuth: private_key_jwt`']);
  });

  it('two providers sharing a callback path or a cookie name are refused', () => {
    const second = `  other:\n    type: oidc\n    issuer: https://other.example.com\n    audience: b\n    login: { clientId: x, clientSecret: "\${env:SECRET}", keys: ["\${env:KEY}"] }`;
    const { issues } = problems(yaml(GOOD, { extra: second }));
    assert.ok(issues.some((i) => /^\/providers\/(idp|other)\/login\/redirectPath: provider "(idp|other)" already uses the callback path/.test(i)), issues.join('\n'));
    assert.ok(issues.some((i) => /cookie\/name: provider .* already uses this session cookie name/.test(i)), issues.join('\n'));
  });
});
