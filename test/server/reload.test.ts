import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { startGateway } from '../harness/gateway.js';
import { startUpstream } from '../harness/upstream.js';
import { rawRequest } from '../harness/http.js';

async function until(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

test('a changed config file is reloaded without restart; a broken one keeps the old config serving', async () => {
  const upstream = await startUpstream();
  const gw = await startGateway({ routes: [{ name: 'a', match: { path: '/a' }, public: true, upstream: { url: upstream.url } }] });
  try {
    assert.equal((await rawRequest(gw.url, 'GET', '/b')).status, 404);
    const config = JSON.parse(readFileSync(gw.configFile, 'utf8')) as { routes: unknown[] };
    config.routes.push({ name: 'b', match: { path: '/b' }, public: true, upstream: { url: upstream.url } });
    // Replace by rename, as editors and Kubernetes secret mounts do.
    writeFileSync(`${gw.configFile}.tmp`, JSON.stringify(config));
    renameSync(`${gw.configFile}.tmp`, gw.configFile);
    assert.ok(await until(async () => (await rawRequest(gw.url, 'GET', '/b')).status === 200), 'the new route is served after the watcher fires');

    writeFileSync(gw.configFile, '{ "routes": [ { "name": "broken" } ] }');
    assert.equal(await gw.gateway.reload(), false, 'the broken config is refused');
    assert.equal((await rawRequest(gw.url, 'GET', '/b')).status, 200, 'the previous config keeps serving');
    assert.equal((await rawRequest(gw.url, 'GET', '/a')).status, 200);
  } finally {
    await gw.stop();
    await upstream.close();
  }
});
