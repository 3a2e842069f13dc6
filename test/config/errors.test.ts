import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load.js';
import { issueAt, loadError, tempDir, VALID_YAML } from './fixtures.js';

const FILE = '/etc/gatehouse/gatehouse.yaml';
const withListen = (listen: string) => `listen: ${listen}\n${VALID_YAML}`;

describe('config errors: parsing', () => {
  it('reports a YAML syntax error with its line and column', () => {
    const error = loadError('routes:\n  - name: [a, b\n    match: {}\n');
    assert.equal(error.file, FILE);
    const issue = error.issues[0]!;
    assert.equal(typeof issue.line, 'number');
    assert.ok(error.message.startsWith(`${FILE}:${issue.line}:${issue.column}: `), error.message);
  });

  it('rejects a duplicate key', () => {
    const error = loadError(`log: { level: info }\n${VALID_YAML}log: { level: debug }\n`);
    const issue = issueAt(error, '', 'duplicate key "log"');
    assert.equal(issue.line, VALID_YAML.split('\n').length + 1);
  });

  it('rejects an empty file', () => {
    issueAt(loadError(''), '', 'the file is empty');
  });
});

describe('config errors: schema', () => {
  it('names an unknown key, suggests the close one and lists the allowed keys', () => {
    const error = loadError(withListen('{ prot: 8080 }'));
    const issue = issueAt(error, '/listen/prot', 'unknown key "prot"', 'did you mean "port"?', 'allowed keys: host, port,');
    assert.equal(issue.line, 1);
    assert.ok(error.message.includes(`${FILE}:1:11: listen.prot: unknown key`), error.message);
  });

  it('reports a wrong type with the expected type and the value', () => {
    issueAt(loadError(withListen('{ port: abc }')), '/listen/port', 'expected integer, got string "abc"');
  });

  it('reports a number out of range', () => {
    issueAt(loadError(withListen('{ port: 70000 }')), '/listen/port', 'expected integer from 0 to 65535, got integer 70000');
  });

  it('explains a bad duration with examples', () => {
    issueAt(loadError(withListen('{ idleTimeout: 30x }')), '/listen/idleTimeout', 'expected a duration such as 250ms, 30s', '"30x"');
  });

  it('a size-or-keyword setting: the keywords load, anything else is named with both forms', () => {
    const error = loadError(`heap: { headroom: lots }\n${VALID_YAML}`);
    issueAt(error, '/heap/headroom', 'got string "lots"');
    assert.match(error.message, /auto/);
    assert.match(error.message, /size such as/);
    for (const ok of ['off', 'auto', '64mb']) assert.equal(loadConfigText(`heap: { headroom: ${ok} }\n${VALID_YAML}`, FILE, {}).config.heap?.headroom, ok);
  });

  it('explains a bad size with examples', () => {
    issueAt(loadError(withListen('{ maxBodySize: 10 megabytes }')), '/listen/maxBodySize', 'expected a size such as 16kb, 10mb', '"10 megabytes"');
  });

  it('lists the allowed values of an enum', () => {
    issueAt(loadError(`log: { level: verbose }\n${VALID_YAML}`), '/log/level', 'expected one of: fatal, error, warn, info, debug', '"verbose"');
  });

  it('reports a missing required key', () => {
    const error = loadError('listen: { port: 8080 }\n');
    issueAt(error, '/routes', 'missing required key "routes"', 'list of objects');
    assert.equal(error.issues.length, 1);
  });

  it('picks the provider kind by `type` instead of reporting every union member', () => {
    const error = loadError(VALID_YAML.replace('type: oidc', 'type: saml'));
    issueAt(error, '/providers/main/type', 'expected one of: oidc, api-key, sigv4, mtls, introspection', 'got string "saml"');
    assert.equal(error.issues.length, 1, error.message);
  });

  it('reports the branch of a boolean-or-object union the value was meant for', () => {
    const text = VALID_YAML.replace('upstream: { url: http://127.0.0.1:3000 }', 'upstream: { url: http://127.0.0.1:3000, assertion: { ttl: soon } }');
    const error = loadError(text);
    issueAt(error, '/routes/0/upstream/assertion/ttl', 'expected a duration');
    assert.equal(error.issues.length, 1, error.message);
  });

  it('reports a misspelt key once, not also as the missing key it was meant to be', () => {
    const text = VALID_YAML.replace('authenticate: [main]', 'authenticate: [main]\n    allow: [{ roles: { anyof: [admin] } }]');
    const error = loadError(text);
    issueAt(error, '/routes/0/allow/0/roles/anyof', 'did you mean "anyOf"?');
    assert.equal(error.issues.length, 1, error.message);
  });

  it('reports several problems at once, in file order', () => {
    const error = loadError(`listen: { port: abc, idleTimeout: 30x }\nlog: { level: loud }\nbogus: 1\n${VALID_YAML}`);
    assert.deepEqual(error.issues.map((i) => i.path), ['/listen/port', '/listen/idleTimeout', '/log/level', '/bogus']);
    assert.equal(error.message.split('\n').length, 4);
  });
});

describe('config errors: semantic checks', () => {
  it('refuses a route with neither authenticate nor public: true', () => {
    const error = loadError(VALID_YAML.replace('    authenticate: [main]\n', ''));
    issueAt(error, '/routes/0', 'route "api" has no authentication: add `authenticate: [...]` or `public: true`');
  });

  it('names an unknown provider and suggests a close one', () => {
    issueAt(loadError(VALID_YAML.replace('[main]', '[mian]')), '/routes/0/authenticate/0', 'unknown provider "mian"', 'did you mean "main"?', 'known providers: main');
  });

  it('rejects a duplicate route name', () => {
    issueAt(loadError(VALID_YAML.replace('name: health', 'name: api')), '/routes/1/name', 'duplicate route name "api"', 'routes[0]');
  });

  it('rejects authenticate or allow rules on a public route', () => {
    const text = VALID_YAML.replace('    public: true\n', '    public: true\n    authenticate: [main]\n    allow: [{ roles: [admin] }]\n');
    const error = loadError(text);
    issueAt(error, '/routes/1/authenticate', 'public');
    issueAt(error, '/routes/1/allow', 'public');
  });

  it('checks URLs, trusted proxies and the audit file', () => {
    const text = `audit: { sink: file }\nlisten: { trustedProxies: [10.0.0.0/8, "::1", 10.0.0.0/33, proxy.local] }\n${VALID_YAML}`
      .replace('issuer: https://id.example.com', 'issuer: not a url').replace('url: http://127.0.0.1:3000 }', 'url: "http://" }');
    const error = loadError(text);
    issueAt(error, '/audit/path', 'required when `sink: file`');
    issueAt(error, '/listen/trustedProxies/2', 'expected an IP address or CIDR', '"10.0.0.0/33"');
    issueAt(error, '/listen/trustedProxies/3', '"proxy.local"');
    issueAt(error, '/providers/main/issuer', 'expected a URL');
    issueAt(error, '/routes/0/upstream/url', 'expected a URL');
    assert.equal(error.issues.length, 5, error.message);
  });
});

describe('config errors: secret references', () => {
  it('names a missing environment variable', () => {
    issueAt(loadError(VALID_YAML.replace('audience: api', 'audience: ${env:API_AUDIENCE}')), '/providers/main/audience', 'environment variable API_AUDIENCE is not set');
  });

  it('names a missing secret file', () => {
    const dir = tempDir();
    const error = loadError(VALID_YAML.replace('audience: api', 'audience: ${file:secrets/aud}'), {}, join(dir, 'gatehouse.yaml'));
    issueAt(error, '/providers/main/audience', `cannot read file "${join(dir, 'secrets/aud')}"`, '${file:secrets/aud}', 'no such file');
  });

  it('names the supported kinds for an unknown kind', () => {
    issueAt(loadError(VALID_YAML.replace('audience: api', 'audience: ${vault:kv/api}')), '/providers/main/audience', 'unknown reference kind "vault"', '${env:NAME}', '${file:PATH}');
  });

  it('never shows a resolved value that fails validation', () => {
    const secret = 's3cr3t-value-xyz';
    const text = `listen:\n  port: \${env:SECRET}\n${VALID_YAML}`.replace('url: http://127.0.0.1:3000 }', 'url: "${env:UPSTREAM}" }');
    const error = loadError(text, { SECRET: secret, UPSTREAM: `ftp://user:${secret}@x` });
    issueAt(error, '/listen/port', 'expected integer', '(value from ${env:SECRET})');
    issueAt(error, '/routes/0/upstream/url', '(value from ${env:UPSTREAM})');
    assert.ok(!error.message.includes(secret), error.message);
    assert.ok(!JSON.stringify(error.issues).includes(secret));
  });

  it('never shows the content of a secret file', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'port'), 's3cr3t-file-content\n');
    const error = loadError(withListen('{ port: "${file:port}" }'), {}, join(dir, 'gatehouse.yaml'));
    issueAt(error, '/listen/port', '(value from ${file:port})');
    assert.ok(!error.message.includes('s3cr3t-file-content'));
  });
});

describe('config errors: workers', () => {
  it('names every accepted form when no member matches', () => {
    issueAt(loadError(`workers: many\n${VALID_YAML}`), '/workers', 'expected integer or "auto", got string "many"');
  });

  it('takes a worker count from an environment reference, and refuses a bad one without echoing it', async () => {
    const { loadConfigText } = await import('../../src/config/load.js');
    assert.equal(loadConfigText(`workers: \${env:W}\n${VALID_YAML}`, FILE, { W: '3' }).config.workers, 3);
    assert.equal(loadConfigText(`workers: \${env:W}\n${VALID_YAML}`, FILE, { W: 'auto' }).config.workers, 'auto');
    issueAt(loadError(`workers: \${env:W}\n${VALID_YAML}`, { W: 'x' }), '/workers', 'expected integer or "auto", got string (value from ${env:W})');
  });
});
