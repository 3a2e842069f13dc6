// Outbound credential `header`: the gateway presents a backend key that the caller never sees.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { rawRequest } from '../harness/http.js';

let upstream: TestUpstream;
let gw: TestGateway;
const dir = mkdtempSync(join(tmpdir(), 'gh-cred-header-'));
const keyFile = join(dir, 'backend-key');

before(async () => {
  writeFileSync(keyFile, 'backend-key-v1\n');
  upstream = await startUpstream();
  gw = await startGateway({
    routes: [
      { name: 'legacy', match: { path: '/legacy/*' }, public: true, upstream: { url: upstream.url, auth: [{ type: 'header', name: 'X-Api-Key', value: `\${file:${keyFile}}` }] } },
      { name: 'other', match: { path: '/*' }, public: true, upstream: { url: upstream.url } },
    ],
  });
});
after(async () => { await gw.stop(); await upstream.close(); });

test('the backend gets the configured key; a client cannot set or see it; the audit names the header only', async () => {
  const res = await rawRequest(gw.url, 'GET', '/legacy/x', { 'x-api-key': 'client-forged' });
  assert.equal(res.status, 200);
  assert.equal(upstream.seen.at(-1)!.headers['x-api-key'], 'backend-key-v1');
  // On another route to the same backend, the header the gateway speaks through is stripped.
  await rawRequest(gw.url, 'GET', '/other', { 'x-api-key': 'client-forged' });
  assert.equal(upstream.seen.at(-1)!.headers['x-api-key'], undefined);
  const line = await gw.auditLine((l) => l.route === 'legacy');
  assert.deepEqual(line?.credentials, [{ kind: 'header', header: 'x-api-key' }]);
  assert.ok(!JSON.stringify(await gw.audit()).includes('backend-key-v1'), 'never the secret');
});

test('a rotated key file takes effect without restart', async () => {
  writeFileSync(keyFile, 'backend-key-v2\n');
  for (let i = 0; i < 100; i++) {
    await rawRequest(gw.url, 'GET', '/legacy/y');
    if (upstream.seen.at(-1)!.headers['x-api-key'] === 'backend-key-v2') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(upstream.seen.at(-1)!.headers['x-api-key'], 'backend-key-v2');
});
