// Backend API keys from Azure Key Vault (`${keyvault:…}`), end to end: a real gateway process
// (`gatehouse start`) reads the secret with the real @azure/keyvault-secrets and @azure/identity SDKs
// from a Key Vault stand-in (test/harness/keyvault-standin.ts: HTTPS with a certificate made here,
// the bearer challenge, the secrets REST API) and gets its token from a managed identity endpoint
// stand-in (the App Service / Container Apps IDENTITY_ENDPOINT shape, which DefaultAzureCredential
// reads from the environment). The stand-in CA is trusted through NODE_EXTRA_CA_CERTS in the
// gateway process. The stand-in is not on a *.vault.azure.net host, so the SDK's check that the
// challenge names the vault's own domain is turned off (secrets.keyvault.verifyChallengeResource).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startKeyVaultStandIn, type KeyVaultStandIn } from '../harness/keyvault-standin.js';
import { makeTestPki } from '../harness/tls.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { rawRequest } from '../harness/http.js';
import { runCli, spawnCli } from '../harness/run-cli.js';
import { writeConfig } from '../harness/gateway.js';

const READY = /"port":(\d+)[^\n]*gatehouse listening/;
const secret = (): string => `key-${randomBytes(18).toString('base64url')}`;

let pki: ReturnType<typeof makeTestPki>;
let kv: KeyVaultStandIn;
let upstream: TestUpstream;
let caFile: string;

before(async () => {
  pki = makeTestPki();
  caFile = join(pki.dir, 'ca.pem');
  writeFileSync(caFile, pki.caPem);
  kv = await startKeyVaultStandIn(pki);
  upstream = await startUpstream();
});
after(async () => { await upstream.close(); await kv.close(); });

/** The gateway process's environment: only what a Key Vault client on Azure would have. */
const gatewayEnv = (): NodeJS.ProcessEnv => ({ NODE_EXTRA_CA_CERTS: caFile, GATEHOUSE_LOG_LEVEL: 'debug', ...kv.identityEnv });

function config(ref: string, extra: Record<string, unknown> = {}): string {
  return writeConfig(stringify({
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    secrets: { pollInterval: '200ms', keyvault: { verifyChallengeResource: false } },
    ...extra,
    routes: [{
      name: 'backend', match: { path: '/*' }, public: true,
      upstream: { url: upstream.url, auth: [{ type: 'header', name: 'x-api-key', value: ref }] },
    }],
  }));
}

/** The API key the upstream saw on a request through the gateway. */
async function keySeen(port: number): Promise<string | undefined> {
  const res = await rawRequest(`http://127.0.0.1:${port}`, 'GET', '/hello');
  assert.equal(res.status, 200, res.body);
  return upstream.seen.at(-1)!.headers['x-api-key'] as string | undefined;
}

/** Poll (no fixed sleep) until `pred` holds; fail after a generous bound. */
async function eventually(pred: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await pred())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('${keyvault:} secrets in a gateway process', () => {
  it('resolves the secret at start, rotates it without a restart, keeps it on a failed poll, never logs it', async () => {
    const v1 = secret();
    kv.rotate('backend-key', v1);
    const file = config(`\${keyvault:${kv.url}/secrets/backend-key}`);
    const gw = await spawnCli(['start', '-c', file], READY, gatewayEnv());
    try {
      const port = Number(gw.match[1]);
      assert.equal(await keySeen(port), v1, 'the value read at start is sent');
      assert.ok(kv.requests.some((r) => r.status === 401 && !r.authorized), 'the SDK went through the bearer challenge');
      assert.ok(kv.requests.some((r) => r.status === 200 && r.authorized && r.apiVersion !== null));
      assert.ok(kv.tokensIssued() >= 1, 'the token came from the managed identity endpoint');

      const v2 = secret();
      kv.rotate('backend-key', v2);
      await eventually(async () => (await keySeen(port)) === v2, 'the rotated key upstream');
      assert.match(gw.stderr(), /remote secret changed; reloading the configuration/);
      assert.match(gw.stderr(), /configuration reloaded/);

      // Access revoked: the poll fails, the last good value stays in use.
      kv.forbid('backend-key');
      await eventually(() => /remote secret could not be read; keeping its last good value/.test(gw.stderr()), 'a logged poll failure');
      assert.match(gw.stderr(), /HTTP 403 Forbidden/);
      assert.equal(await keySeen(port), v2);
      kv.restore('backend-key');

      const logs = gw.stderr();
      assert.ok(logs.includes('/secrets/backend-key'), 'logs name the reference');
      for (const value of [v1, v2]) assert.ok(!logs.includes(value), 'a secret value in the operational log');
    } finally {
      gw.child.kill('SIGTERM');
      await gw.exited;
    }
  });

  it('refuses to start when a secret cannot be read, naming the reference and its place', async () => {
    const file = config(`\${keyvault:${kv.url}/secrets/no-such-key}`);
    const r = await runCli(['start', '-c', file], gatewayEnv());
    assert.notEqual(r.code, 0);
    const out = r.stdout + r.stderr;
    assert.match(out, new RegExp(`gatehouse\\.yaml:\\d+:\\d+: routes\\[0\\]\\.upstream\\.auth\\[0\\]\\.value: cannot read \\$\\{keyvault:${kv.url.replace(/[.:/]/g, '\\$&')}/secrets/no-such-key\\}: Key Vault: HTTP 404 SecretNotFound`));
  });

  it('refuses to start on access denied, without showing any value', async () => {
    const value = secret();
    kv.rotate('denied-key', value);
    kv.forbid('denied-key');
    const r = await runCli(['start', '-c', config(`\${keyvault:${kv.url}/secrets/denied-key}`)], gatewayEnv());
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /cannot read \$\{keyvault:[^}]+\/secrets\/denied-key\}: Key Vault: HTTP 403 Forbidden/);
    assert.ok(!(r.stdout + r.stderr).includes(value));
  });

  it('rotates in every worker of a cluster (the primary reads, the workers get the value over IPC)', async () => {
    const v1 = secret();
    kv.rotate('cluster-key', v1);
    const file = config(`\${keyvault:${kv.url}/secrets/cluster-key}`, { workers: 2 });
    // A primary and two workers start slowly on a busy machine: a longer bound than one process gets.
    const gw = await spawnCli(['start', '-c', file], /"port":(\d+)[^\n]*"workers":2[^\n]*gatehouse listening/, gatewayEnv(), 90_000);
    try {
      const port = Number(gw.match[1]);
      const reads = (): number => kv.requests.filter((r) => r.path.startsWith('/secrets/cluster-key') && r.status === 200).length;
      assert.equal(reads(), 1, 'read once, by the primary');
      for (let i = 0; i < 6; i++) assert.equal(await keySeen(port), v1);
      const v2 = secret();
      kv.rotate('cluster-key', v2);
      await eventually(() => /configuration reloaded in every worker/.test(gw.stderr()), 'the reload in every worker');
      for (let i = 0; i < 6; i++) assert.equal(await keySeen(port), v2, 'every worker sends the new key');
      assert.ok(!gw.stderr().includes(v1) && !gw.stderr().includes(v2));
    } finally {
      gw.child.kill('SIGTERM');
      await gw.exited;
    }
  });
});
