// examples/data-factory-metrics.yaml (docs/secrets.md): a Data Factory managed identity reads
// /metrics/* through the gateway, which sends the backend an API key kept in Azure Key Vault and
// follows its rotation without a restart. Run by a real gateway process (`gatehouse start`) against
// the Key Vault and managed identity stand-ins of test/harness/keyvault-standin.ts, reached with the
// real Azure SDKs (DefaultAzureCredential finds the managed identity endpoint in the environment);
// the stand-in CA is trusted via NODE_EXTRA_CA_CERTS. Local here: ports, the key endpoint (jwksUri),
// the upstream, the vault URL, and two settings a stand-in needs: a short pollInterval (so the test
// does not wait a minute) and verifyChallengeResource off (the stand-in is not on vault.azure.net).
// Tokens are shaped like Entra's for a managed identity (v1.0, xms_mirid of a factory).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adaptExample } from '../harness/examples.js';
import { startKeyVaultStandIn, type KeyVaultStandIn } from '../harness/keyvault-standin.js';
import { entra, startSigningKeys, type SigningKeys } from '../harness/provider-tokens.js';
import { makeTestPki } from '../harness/tls.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { rawRequest, type RawResponse } from '../harness/http.js';
import { spawnCli } from '../harness/run-cli.js';

const EXAMPLE = 'data-factory-metrics.yaml';
const VAULT_REF = '${keyvault:https://contoso-metrics.vault.azure.net/secrets/metrics-api-key}';

describe('examples/data-factory-metrics.yaml (docs/secrets.md: a backend key from Key Vault, rotated)', () => {
  const TENANT_ID = randomUUID();
  const API_CLIENT_ID = randomUUID();
  const FACTORY = randomUUID();
  let keys: SigningKeys;
  let kv: KeyVaultStandIn;
  let upstream: TestUpstream;
  let gw: Awaited<ReturnType<typeof spawnCli>>;
  let base: string;
  const v1 = `mk-${randomBytes(24).toString('base64url')}`;

  before(async () => {
    keys = await startSigningKeys();
    const pki = makeTestPki();
    writeFileSync(join(pki.dir, 'ca.pem'), pki.caPem);
    kv = await startKeyVaultStandIn(pki, TENANT_ID);
    kv.rotate('metrics-api-key', v1);
    upstream = await startUpstream();
    const config = adaptExample(EXAMPLE, {
      jwksUri: keys.jwksUri,
      replace: { 'http://metrics.internal:8080': upstream.url, [VAULT_REF]: `\${keyvault:${kv.url}/secrets/metrics-api-key}` },
    });
    config.secrets = { ...(config.secrets as object), pollInterval: '200ms', keyvault: { verifyChallengeResource: false } };
    const file = join(mkdtempSync(join(tmpdir(), 'gatehouse-example-secrets-')), 'gatehouse.yaml');
    writeFileSync(file, JSON.stringify(config));
    gw = await spawnCli(['start', '-c', file], /"port":(\d+)[^\n]*gatehouse listening/, {
      NODE_EXTRA_CA_CERTS: join(pki.dir, 'ca.pem'), TENANT_ID, API_CLIENT_ID, GATEHOUSE_LOG_LEVEL: 'debug', ...kv.identityEnv,
    });
    base = `http://127.0.0.1:${gw.match[1]}`;
  });
  after(async () => {
    gw.child.kill('SIGTERM');
    await gw.exited;
    await upstream.close();
    await kv.close();
    await keys.close();
  });

  const factoryToken = (roles = ['Metrics.Read'], appid = FACTORY): Promise<string> =>
    keys.sign(entra.v1ManagedIdentity({ tid: TENANT_ID, aud: `api://${API_CLIENT_ID}`, appid, oid: randomUUID(), roles }));
  const get = async (path: string, token: string, method = 'GET'): Promise<RawResponse> => rawRequest(base, method, path, { authorization: `Bearer ${token}` });

  it('lets the factory GET /metrics/* with the Key Vault key sent upstream; nothing else', async () => {
    const token = await factoryToken();
    const ok = await get('/metrics/daily', token);
    assert.equal(ok.status, 200, ok.body);
    assert.equal(upstream.seen.at(-1)!.headers['x-api-key'], v1);
    const reached = upstream.seen.length;
    assert.notEqual((await get('/metrics/daily', token, 'POST')).status, 200, 'GET only');
    assert.notEqual((await get('/admin', token)).status, 200, '/metrics/* only');
    assert.equal((await get('/metrics/daily', await factoryToken([]))).status, 403, 'the app role is required');
    assert.equal(upstream.seen.length, reached, 'refused requests never reach the backend');
  });

  it('limits each pipeline (client id) on its own', async () => {
    const token = await factoryToken(['Metrics.Read'], randomUUID());
    const burst = await Promise.all(Array.from({ length: 60 }, () => get('/metrics/daily', token)));
    const refused = burst.find((r) => r.status === 429);
    assert.ok(refused, 'the burst of 20 is spent');
    assert.equal(refused.json().code, 'rate_limited');
    assert.equal((await get('/metrics/daily', await factoryToken(['Metrics.Read'], randomUUID()))).status, 200, 'another pipeline is not starved');
  });

  it('sends the new key once Key Vault has a new version, without a restart, and never logs a key', async () => {
    const v2 = `mk-${randomBytes(24).toString('base64url')}`;
    kv.rotate('metrics-api-key', v2);
    const token = await factoryToken(['Metrics.Read'], randomUUID());
    const deadline = Date.now() + 20_000;
    for (;;) {
      const res = await get('/metrics/daily', token);
      assert.equal(res.status, 200, res.body);
      if (upstream.seen.at(-1)!.headers['x-api-key'] === v2) break;
      if (Date.now() > deadline) assert.fail('the rotated key never reached the backend');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(!gw.stderr().includes(v1) && !gw.stderr().includes(v2), 'a key in the operational log');
  });
});
