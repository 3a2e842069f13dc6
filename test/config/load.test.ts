import type { Config } from '../../src/config/schema.js';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig, loadConfigText } from '../../src/config/load.js';
import { httpUpstreamOf } from '../../src/upstream/registry.js';
import { tempDir, VALID_YAML } from './fixtures.js';

/** The `main` provider, which the fixtures declare as `type: oidc`. */
function oidc(config: Config): Extract<NonNullable<Config['providers']>[string], { type: 'oidc' }> {
  const p = config.providers?.main;
  assert.equal(p?.type, 'oidc');
  return p as Extract<NonNullable<Config['providers']>[string], { type: 'oidc' }>;
}

describe('loadConfig', () => {
  it('loads YAML and applies defaults everywhere', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'gatehouse.yaml'), VALID_YAML);
    const loaded = await loadConfig(join(dir, 'gatehouse.yaml'), {});
    assert.equal(loaded.file, join(dir, 'gatehouse.yaml'));
    assert.equal(loaded.baseDir, dir);
    assert.deepEqual(loaded.warnings, []);
    const { config } = loaded;
    assert.equal(config.listen?.port, 8080);
    assert.equal(config.listen?.maxBodySize, '10mb');
    assert.deepEqual(config.listen?.trustedProxies, []);
    assert.equal(config.admin?.host, '127.0.0.1');
    assert.equal(config.audit?.sink, 'stdout');
    assert.equal(config.log?.level, 'info');
    assert.equal(config.assertion?.issuer, 'gatehouse');
    assert.equal(oidc(config).clockSkew, '60s');
    assert.deepEqual(oidc(config).algorithms, ['RS256', 'PS256', 'ES256', 'EdDSA']);
    assert.equal(httpUpstreamOf(config.routes[0]!.upstream)?.connections, 128);
    assert.equal(httpUpstreamOf(config.routes[0]!.upstream)?.forwardAuthorization, false);
  });

  it('loads JSON', async () => {
    const dir = tempDir();
    const json = {
      listen: { port: 9000 },
      routes: [{ name: 'pub', public: true, match: { path: '/' }, upstream: { url: 'https://app.internal' } }],
    };
    writeFileSync(join(dir, 'gatehouse.json'), JSON.stringify(json, null, 2));
    const { config } = await loadConfig(join(dir, 'gatehouse.json'), {});
    assert.equal(config.listen?.port, 9000);
    assert.equal(config.listen?.host, '0.0.0.0');
    assert.equal(httpUpstreamOf(config.routes[0]!.upstream)?.headersTimeout, '30s');
  });

  it('keeps `assertion: true` boolean and fills an assertion object', () => {
    const text = VALID_YAML.replace('upstream: { url: http://127.0.0.1:3000 }', 'upstream: { url: http://127.0.0.1:3000, assertion: true }')
      .replace(/(- name: health[\s\S]*?)upstream: \{ url: http:\/\/127.0.0.1:3000 \}/, '$1upstream: { url: http://127.0.0.1:3000, assertion: {} }');
    const { config } = loadConfigText(text, '/etc/gatehouse/gatehouse.yaml', {});
    assert.equal(config.routes[0]?.upstream.assertion, true);
    assert.deepEqual(config.routes[1]?.upstream.assertion, { header: 'x-gatehouse-assertion', ttl: '60s' });
  });

  it('warns when the development issuer is enabled and accepts `dev` as a provider', () => {
    const text = `dev: true\nroutes:\n  - { name: a, match: { path: / }, authenticate: [dev], upstream: { url: http://x } }\n`;
    const { config, warnings } = loadConfigText(text, '/etc/gatehouse/gatehouse.yaml', {});
    assert.equal(config.dev, true);
    assert.ok(warnings.some((w) => w.includes('development issuer')));
  });
});

describe('secret references', () => {
  it('resolves ${env:} and ${file:} (relative to the config, trailing newline trimmed)', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'issuer.txt'), 'https://login.example.com\n');
    const text = VALID_YAML.replace('issuer: https://id.example.com', 'issuer: ${file:issuer.txt}').replace('audience: api', 'audience: ${env:AUD}');
    const loaded = loadConfigText(text, join(dir, 'gatehouse.yaml'), { AUD: 'orders-api' });
    assert.equal(oidc(loaded.config).issuer, 'https://login.example.com');
    assert.equal(oidc(loaded.config).audience, 'orders-api');
    assert.deepEqual(loaded.secretFiles, [join(dir, 'issuer.txt')]);
  });

  it('resolves absolute ${file:} paths and references embedded in a larger string', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'host'), 'app.internal');
    const text = VALID_YAML.replace('url: http://127.0.0.1:3000 }', `url: "http://\${file:${join(dir, 'host')}}:\${env:APP_PORT}/v1" }`);
    const { config } = loadConfigText(text, '/elsewhere/gatehouse.yaml', { APP_PORT: '8443' });
    assert.equal(httpUpstreamOf(config.routes[0]!.upstream)?.url, 'http://app.internal:8443/v1');
  });

  it('turns $${ into a literal ${', () => {
    // (a replacer function: in a replacement string `$$` would itself mean `$`)
    const text = VALID_YAML.replace('audience: api', () => 'audience: "$${env:NOT_A_REF} and $${x}"');
    const { config } = loadConfigText(text, '/etc/gatehouse/gatehouse.yaml', {});
    assert.equal(oidc(config).audience, '${env:NOT_A_REF} and ${x}');
  });

  it('converts a whole reference to a number or boolean where the schema wants one', () => {
    const text = `listen:\n  port: \${env:PORT}\nadmin: { port: "\${env:ADMIN_PORT}" }\n${VALID_YAML}`
      .replace('upstream: { url: http://127.0.0.1:3000 }', 'upstream: { url: http://127.0.0.1:3000, preserveHost: "${env:PRESERVE}" }');
    const { config } = loadConfigText(text, '/etc/gatehouse/gatehouse.yaml', { PORT: '8443', ADMIN_PORT: '9191', PRESERVE: 'true' });
    assert.equal(config.listen?.port, 8443);
    assert.equal(config.admin?.port, 9191);
    assert.equal(httpUpstreamOf(config.routes[0]!.upstream)?.preserveHost, true);
  });

  it('leaves a number-shaped reference a string where the schema wants a string', () => {
    const text = VALID_YAML.replace('audience: api', 'audience: ${env:AUD}');
    const { config } = loadConfigText(text, '/etc/gatehouse/gatehouse.yaml', { AUD: '12345' });
    assert.equal(oidc(config).audience, '12345');
  });
});
