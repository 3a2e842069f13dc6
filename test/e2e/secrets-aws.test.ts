// Backend credentials from AWS Secrets Manager (`${aws-secretsmanager:…}`), end to end: a real
// gateway process reads them with the real @aws-sdk/client-secrets-manager from a Secrets Manager
// stand-in (test/harness/secretsmanager-standin.ts: HTTPS with a certificate made here, the JSON
// API, SigV4 verified by signing again). The SDK's default credential chain reads the access key
// from the environment; the endpoint is overridden in `secrets.aws-secretsmanager.endpoint`; the
// stand-in CA is trusted through NODE_EXTRA_CA_CERTS in the gateway process.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startSecretsManagerStandIn, type SecretsManagerStandIn } from '../harness/secretsmanager-standin.js';
import { makeTestPki } from '../harness/tls.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { rawRequest } from '../harness/http.js';
import { runCli, spawnCli } from '../harness/run-cli.js';
import { writeConfig } from '../harness/gateway.js';

const READY = /"port":(\d+)[^\n]*gatehouse listening/;
const secret = (): string => `sm-${randomBytes(18).toString('base64url')}`;

let sm: SecretsManagerStandIn;
let upstream: TestUpstream;
let caFile: string;

before(async () => {
  const pki = makeTestPki();
  caFile = join(pki.dir, 'ca.pem');
  writeFileSync(caFile, pki.caPem);
  sm = await startSecretsManagerStandIn(pki);
  upstream = await startUpstream();
});
after(async () => { await upstream.close(); await sm.close(); });

const env = (): NodeJS.ProcessEnv => ({ NODE_EXTRA_CA_CERTS: caFile, GATEHOUSE_LOG_LEVEL: 'debug', ...sm.env });

function config(auth: { name: string; value: string }[]): string {
  return writeConfig(stringify({
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    secrets: { pollInterval: '200ms', 'aws-secretsmanager': { endpoint: sm.url } },
    routes: [{
      name: 'backend', match: { path: '/*' }, public: true,
      upstream: { url: upstream.url, auth: auth.map((a) => ({ type: 'header', ...a })) },
    }],
  }));
}

async function seen(port: number): Promise<Record<string, unknown>> {
  const res = await rawRequest(`http://127.0.0.1:${port}`, 'GET', '/x');
  assert.equal(res.status, 200, res.body);
  return upstream.seen.at(-1)!.headers;
}

describe('${aws-secretsmanager:} secrets in a gateway process', () => {
  it('reads a secret by name and a JSON key by ARN, signed with SigV4, and follows a rotation', async () => {
    const plain = secret();
    const key1 = secret();
    sm.put('orders/api-key', plain);
    sm.put('orders/creds', JSON.stringify({ user: 'gatehouse', key: key1 }));
    const arn = `arn:aws:secretsmanager:${sm.region}:123456789012:secret:orders/creds`;
    const file = config([{ name: 'x-api-key', value: '${aws-secretsmanager:orders/api-key}' }, { name: 'x-partner-key', value: `\${aws-secretsmanager:${arn}#key}` }]);
    const gw = await spawnCli(['start', '-c', file], READY, env());
    try {
      const port = Number(gw.match[1]);
      const first = await seen(port);
      assert.equal(first['x-api-key'], plain);
      assert.equal(first['x-partner-key'], key1);
      assert.ok(sm.requests.length >= 2 && sm.requests.every((r) => r.signed), 'every call carried a valid SigV4 signature');
      assert.ok(sm.requests.some((r) => r.secretId === arn), 'an ARN is sent as the SecretId');

      const key2 = secret();
      sm.put('orders/creds', JSON.stringify({ user: 'gatehouse', key: key2 }));
      const deadline = Date.now() + 20_000;
      while ((await seen(port))['x-partner-key'] !== key2) {
        if (Date.now() > deadline) assert.fail('the rotated key never reached the upstream');
        await new Promise((r) => setTimeout(r, 50));
      }
      for (const value of [plain, key1, key2]) assert.ok(!gw.stderr().includes(value), 'a secret value in the log');
    } finally {
      gw.child.kill('SIGTERM');
      await gw.exited;
    }
  });

  it('refuses to start when the secret does not exist or the JSON key is missing', async () => {
    sm.put('orders/json', JSON.stringify({ other: secret() }));
    const r = await runCli(['start', '-c', config([
      { name: 'x-a', value: '${aws-secretsmanager:orders/missing}' },
      { name: 'x-b', value: '${aws-secretsmanager:orders/json#key}' },
    ])], env());
    assert.notEqual(r.code, 0);
    const out = r.stdout + r.stderr;
    assert.match(out, /auth\[0\]\.value: cannot read \$\{aws-secretsmanager:orders\/missing\}: Secrets Manager: HTTP 400 ResourceNotFoundException/);
    assert.match(out, /auth\[1\]\.value: cannot read \$\{aws-secretsmanager:orders\/json#key\}: the secret's JSON has no string at key "key"/);
  });

  it('refuses a request the stand-in cannot verify (a wrong secret key), so the signature check is real', async () => {
    sm.put('orders/api-key', secret());
    const r = await runCli(['start', '-c', config([{ name: 'x-api-key', value: '${aws-secretsmanager:orders/api-key}' }])], { ...env(), AWS_SECRET_ACCESS_KEY: 'wrong' });
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /InvalidSignatureException/);
  });
});
