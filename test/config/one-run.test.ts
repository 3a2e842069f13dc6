import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { issueAt, loadError, VALID_YAML } from './fixtures.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

/** Every issue of the error as `path: message`, for whole-list assertions. */
const listed = (error: { issues: readonly { path: string; message: string }[] }): string[] => error.issues.map((i) => `${i.path}: ${i.message}`);

describe('config errors: every problem in one run', () => {
  it('reports schema, semantic and preset errors together, each with line, column and path', () => {
    const text = `
listen: { port: abc }
providers:
  entra:
    type: oidc
    preset: entra-id
    issuer: https://login.microsoftonline.com/contoso/v2.0
    audience: api
    hostedDomain: example.com
  a0: { type: oidc, preset: auth0, issuer: "https://example.auth0.com", audience: api }
routes:
  - { name: a, match: { path: /a }, authenticate: [entra], upstream: { url: http://x } }
  - { name: a, match: { path: "/b/../c" }, authenticate: [a0], upstream: { url: http://x } }
`;
    const error = loadError(text);
    assert.deepEqual(error.issues.map((i) => [i.path, i.line]), [
      ['/listen/port', 2],
      ['/providers/entra/issuer', 7],
      ['/providers/entra/hostedDomain', 9],
      ['/providers/a0/issuer', 10],
      ['/routes/1/name', 13],
      ['/routes/1/match/path', 13],
    ], error.message);
    issueAt(error, '/providers/entra/issuer', 'preset entra-id: the tenant in issuer must be the tenant id', 'not "contoso"');
    issueAt(error, '/providers/entra/hostedDomain', '`hostedDomain` applies only with preset: google (this provider has preset: entra-id)');
    issueAt(error, '/providers/a0/issuer', 'preset auth0: Auth0 issuers end with "/": use https://example.auth0.com/');
    issueAt(error, '/routes/1/name', 'duplicate route name "a" (also used by routes[0])');
    issueAt(error, '/routes/1/match/path', 'invalid path pattern "/b/../c": "." and ".." segments are resolved before routing');
    for (const line of error.message.split('\n')) assert.match(line, /^\/etc\/gatehouse\/gatehouse\.yaml:\d+:\d+: [a-z]/, line);
  });

  it('places each preset rule at the key it concerns, and reports every misplaced option', () => {
    const provider = (extra: string) => `providers:\n  e:\n    type: oidc\n    audience: api\n${extra}\n${VALID_YAML.replace(/providers:[\s\S]*?routes:/, 'routes:').replace('[main]', '[e]')}`;
    const template = '    preset: entra-id\n    issuer: "https://login.microsoftonline.com/{tenantid}/v2.0"';
    issueAt(loadError(provider(`${template}\n    tenants: [${TENANT}]`)), '/providers/e/jwksUri', 'preset entra-id: an issuer with {tenantid} has no discovery document: set jwksUri');
    issueAt(loadError(provider(`${template}\n    jwksUri: https://login.microsoftonline.com/common/discovery/v2.0/keys`)), '/providers/e/tenants', 'needs tenants');
    const single = `    preset: entra-id\n    issuer: https://login.microsoftonline.com/${TENANT}/v2.0\n    tenants: [${TENANT}]`;
    issueAt(loadError(provider(single)), '/providers/e/tenants', 'tenants applies only to an issuer with {tenantid}');
    const okta = loadError(provider('    preset: okta\n    issuer: https://example.okta.com\n    tokenUse: id\n    hostedDomain: example.com\n    tokenVersions: ["2.0"]'));
    assert.deepEqual(listed(okta).sort(), [
      '/providers/e/hostedDomain: `hostedDomain` applies only with preset: google (this provider has preset: okta)',
      '/providers/e/tokenUse: `tokenUse` applies only with preset: cognito (this provider has preset: okta)',
      '/providers/e/tokenVersions: `tokenVersions` applies only with preset: entra-id (this provider has preset: okta)',
    ]);
    issueAt(loadError(provider('    issuer: https://id.example.com\n    clientId: app')), '/providers/e/clientId', '`clientId` applies only with preset: keycloak (this provider has no preset)');
  });

  it('an introspection provider without endpoint or issuer is a config issue, not a start-time failure', () => {
    const text = VALID_YAML.replace('providers:\n', 'providers:\n  opaque: { type: introspection, clientId: gw, clientSecret: "${env:S}" }\n');
    issueAt(loadError(text, { S: 's' }), '/providers/opaque/endpoint', 'missing required key "endpoint": set `endpoint`, or `issuer` to find it by discovery');
  });

  it('never echoes a referenced value that a preset rule quotes', () => {
    const text = VALID_YAML.replace('issuer: https://id.example.com', 'preset: auth0\n    issuer: "https://${env:AUTH0_TENANT}.auth0.com"');
    const error = loadError(text, { AUTH0_TENANT: 'tenant-s3cr3t' });
    issueAt(error, '/providers/main/issuer', 'Auth0 issuers end with "/"', '(value from ${env:AUTH0_TENANT})');
    assert.ok(!error.message.includes('tenant-s3cr3t'), error.message);
    const entra = VALID_YAML.replace('issuer: https://id.example.com', 'preset: entra-id\n    issuer: "https://login.microsoftonline.com/${env:TENANT}/v2.0"');
    const second = loadError(entra, { TENANT: 'contoso-s3cr3t' });
    issueAt(second, '/providers/main/issuer', 'not "(value from ${env:TENANT})"');
    assert.ok(!second.message.includes('contoso-s3cr3t'), second.message);
  });
});

describe('config errors: a schema error causes no semantic errors of its own', () => {
  it('a misspelt `public` is reported once, not also as a route without authentication', () => {
    const error = loadError(VALID_YAML.replace('    public: true\n', '    pubilc: true\n'));
    assert.deepEqual(error.issues.map((i) => i.path), ['/routes/1/pubilc'], error.message);
    issueAt(error, '/routes/1/pubilc', 'did you mean "public"?');
  });

  it('a provider with schema errors still counts as known; its preset rules wait for the keys they read', () => {
    const typo = loadError(VALID_YAML.replace('audience: api', 'audience: api\n    clockSkew: soon'));
    assert.deepEqual(typo.issues.map((i) => i.path), ['/providers/main/clockSkew'], typo.message);
    const wrongType = loadError(VALID_YAML.replace('type: oidc', 'type: saml'));
    assert.deepEqual(wrongType.issues.map((i) => i.path), ['/providers/main/type'], wrongType.message);
    // `tenant` was meant to be `tenants`: no "needs tenants" on top of the misspelling.
    const template = VALID_YAML.replace('issuer: https://id.example.com', `preset: entra-id\n    issuer: "https://login.microsoftonline.com/{tenantid}/v2.0"\n    jwksUri: https://login.microsoftonline.com/common/discovery/v2.0/keys\n    tenant: [${TENANT}]`);
    const meant = loadError(template);
    assert.deepEqual(meant.issues.map((i) => i.path), ['/providers/main/tenant'], meant.message);
    // A bad tenant id is the schema's to report; the preset's rule on tenants stays quiet.
    const badTenant = loadError(template.replace('tenant:', 'tenants:').replace(TENANT, 'not-a-guid'));
    assert.deepEqual(badTenant.issues.map((i) => i.path), ['/providers/main/tenants/0'], badTenant.message);
  });

  it('a preset rule on sound keys is still reported beside a schema error elsewhere in the provider', () => {
    const text = VALID_YAML.replace('issuer: https://id.example.com', 'preset: auth0\n    issuer: https://example.auth0.com\n    clockSkew: soon');
    assert.deepEqual(loadError(text).issues.map((i) => i.path), ['/providers/main/issuer', '/providers/main/clockSkew']);
  });

  it('a wrongly typed `authenticate` or `routes` gives the schema error alone', () => {
    const error = loadError(VALID_YAML.replace('authenticate: [main]', 'authenticate: main'));
    assert.deepEqual(error.issues.map((i) => i.path), ['/routes/0/authenticate'], error.message);
    const routes = loadError('routes: { name: a }\n');
    assert.equal(routes.issues.length, 1, routes.message);
  });

  it('an unresolved reference is reported once, not also as a bad URL or a preset problem', () => {
    const text = VALID_YAML.replace('issuer: https://id.example.com', 'preset: auth0\n    issuer: ${env:ISSUER}');
    const error = loadError(text);
    assert.deepEqual(listed(error), ['/providers/main/issuer: environment variable ISSUER is not set (referenced by ${env:ISSUER})']);
  });

  it('semantic checks still run on the sound parts: a duplicate name beside a bad port', () => {
    const error = loadError(`listen: { port: abc }\n${VALID_YAML.replace('name: health', 'name: api')}`);
    assert.deepEqual(error.issues.map((i) => i.path), ['/listen/port', '/routes/1/name'], error.message);
  });
});
