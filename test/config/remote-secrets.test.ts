// Remote secret references (${keyvault:…}, ${aws-secretsmanager:…}) in the config loader: syntax,
// where they may appear, and that a value read from a store is never shown. Reading from the stores
// is tested end to end (test/e2e/secrets-*.test.ts) with the real SDKs against stand-ins.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, loadConfigText } from '../../src/config/load.js';
import { parseAwsReference } from '../../src/config/secrets/aws-secrets-manager.js';
import { parseKeyVaultReference } from '../../src/config/secrets/keyvault.js';
import { remoteReferences } from '../../src/config/secrets/remote.js';
import { tempDir, VALID_YAML } from './fixtures.js';

const FILE = '/etc/gatehouse/gatehouse.yaml';
const KV = '${keyvault:https://contoso.vault.azure.net/secrets/backend-key}';
const SECRET = 'value-from-the-vault-9f8e7d';

/** The fixture with an upstream API key header whose value is `ref`. */
const withHeader = (ref: string, extra = ''): string => `${extra}${VALID_YAML.replace('upstream: { url: http://127.0.0.1:3000 }', () => `upstream: { url: http://127.0.0.1:3000, auth: [{ type: header, name: x-api-key, value: "${ref}" }] }`)}`;

async function loadFails(text: string): Promise<ConfigError> {
  const dir = tempDir();
  const file = join(dir, 'gatehouse.yaml');
  writeFileSync(file, text);
  try {
    await loadConfig(file, {});
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('expected the config to be rejected');
}

describe('remote secret references', () => {
  it('parses Key Vault secret identifiers: https, /secrets/NAME, an optional 32-character version', () => {
    assert.deepEqual(parseKeyVaultReference('https://contoso.vault.azure.net/secrets/backend-key'), { vault: 'https://contoso.vault.azure.net', name: 'backend-key', version: undefined });
    assert.deepEqual(parseKeyVaultReference('https://contoso.vault.azure.cn/secrets/k/0123456789abcdef0123456789abcdef'), { vault: 'https://contoso.vault.azure.cn', name: 'k', version: '0123456789abcdef0123456789abcdef' });
    for (const bad of ['http://contoso.vault.azure.net/secrets/k', 'https://contoso.vault.azure.net/keys/k', 'https://contoso.vault.azure.net/secrets/k_1', 'https://contoso.vault.azure.net/secrets/k/v1', 'https://contoso.vault.azure.net/secrets/k?x=1', 'contoso']) {
      assert.equal(typeof parseKeyVaultReference(bad), 'string', bad);
    }
  });

  it('parses Secrets Manager names and ARNs (the ARN names the region), with an optional #jsonKey', () => {
    assert.deepEqual(parseAwsReference('prod/orders'), { id: 'prod/orders', region: undefined, key: undefined });
    assert.deepEqual(parseAwsReference('arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/orders-AbCdEf#apiKey'), { id: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/orders-AbCdEf', region: 'eu-west-1', key: 'apiKey' });
    for (const bad of ['', 'prod/orders#', 'arn:aws:s3:::bucket', 'has space']) assert.equal(typeof parseAwsReference(bad), 'string', bad);
  });

  it('finds remote references in every string except the `secrets` settings, and not escaped ones', () => {
    const doc = { a: `Bearer ${KV}`, b: ['$${keyvault:https://x.vault.azure.net/secrets/y}', '${env:X}'], secrets: { keyvault: { tenantId: '${aws-secretsmanager:t}' } } };
    assert.deepEqual(remoteReferences(doc), [KV]);
  });

  it('a malformed reference is a located issue, before anything is read', async () => {
    const err = await loadFails(withHeader('${keyvault:http://contoso.vault.azure.net/secrets/k}'));
    const issue = err.issues.find((i) => i.path.endsWith('/value'));
    assert.ok(issue && issue.line !== undefined, err.message);
    assert.match(issue.message, /Key Vault is reached over https only/);
  });

  it('the `secrets` settings cannot themselves come from a store', async () => {
    const err = await loadFails(withHeader(KV, 'secrets:\n  keyvault:\n    tenantId: "${keyvault:https://a.vault.azure.net/secrets/t}"\n'));
    assert.ok(err.issues.some((i) => i.path === '/secrets/keyvault/tenantId' && /cannot themselves come from a secret store/.test(i.message)), err.message);
    assert.ok(err.issues.some((i) => i.path.endsWith('/value') && /not read: the `secrets` settings are invalid/.test(i.message)), err.message);
  });

  it('an unknown kind names every supported one', async () => {
    const err = await loadFails(withHeader('${vault:secret/x}'));
    assert.match(err.message, /unknown reference kind "vault".*\$\{keyvault:https:\/\/VAULT\.vault\.azure\.net\/secrets\/NAME\[\/VERSION\]\}.*\$\{aws-secretsmanager:NAME-or-ARN\[#jsonKey\]\}/);
  });

  it('uses the value read, records it for polling, and never shows it in a message', () => {
    const loaded = loadConfigText(withHeader(KV), FILE, {}, { remote: new Map([[KV, { value: SECRET }]]) });
    assert.deepEqual([...loaded.remoteSecrets], [[KV, SECRET]]);
    // A value the schema rejects is named by its reference only.
    const port = `listen:\n  port: "\${aws-secretsmanager:port}"\n${VALID_YAML}`;
    try {
      loadConfigText(port, FILE, {}, { remote: new Map([['${aws-secretsmanager:port}', { value: SECRET }]]) });
      assert.fail('expected a schema error');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /value from \$\{aws-secretsmanager:port\}/);
      assert.ok(!err.message.includes(SECRET), err.message);
    }
  });

  it('a read that failed is a located issue naming the reference and why', () => {
    try {
      loadConfigText(withHeader(KV), FILE, {}, { remote: new Map([[KV, { error: 'Key Vault: HTTP 403 Forbidden' }]]) });
      assert.fail('expected the load to fail');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      const issue = err.issues.find((i) => i.path.endsWith('/value'))!;
      assert.ok(issue.line !== undefined);
      assert.equal(issue.message, `cannot read ${KV}: Key Vault: HTTP 403 Forbidden; the gateway does not start (or keeps its previous configuration) until it can`);
    }
  });
});
