import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UpstreamPools } from '../../src/upstream/http/pools.js';
import { compileRuntime } from '../../src/pipeline/runtime.js';
import { loadConfigText } from '../../src/config/load.js';
import { startGateway } from '../harness/gateway.js';
import { rawRequest } from '../harness/http.js';

const base = { origin: 'http://127.0.0.1:1', connections: 8, headersTimeoutMs: 1000, bodyTimeoutMs: 1000, connectTimeoutMs: 1000 };

test('one pool per distinct upstream settings', async () => {
  const pools = new UpstreamPools();
  assert.equal(pools.get(base), pools.get({ ...base }));
  assert.notEqual(pools.get(base), pools.get({ ...base, tls: { ca: 'PEM' } }));
  assert.notEqual(pools.get(base), pools.get({ ...base, origin: 'http://127.0.0.1:2' }));
  // A rotated client certificate (or key) is a new pool: the old one drains with its connections.
  const one = pools.get({ ...base, tls: { ca: 'PEM', cert: 'CERT-1', key: 'KEY-1' } });
  assert.equal(pools.get({ ...base, tls: { ca: 'PEM', cert: 'CERT-1', key: 'KEY-1' } }), one);
  assert.notEqual(pools.get({ ...base, tls: { ca: 'PEM', cert: 'CERT-2', key: 'KEY-1' } }), one);
  assert.notEqual(pools.get({ ...base, tls: { ca: 'PEM', cert: 'CERT-1', key: 'KEY-2' } }), one);
  assert.equal(pools.size, 6);
  await pools.close();
  assert.equal(pools.size, 0);
});

test('routes to the same upstream share keep-alive connections', async () => {
  let connections = 0;
  const upstream = http.createServer((_req, res) => res.end('ok'));
  upstream.on('connection', () => { connections++; });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const gw = await startGateway({
    routes: Array.from({ length: 50 }, (_, i) => ({ name: `r${i}`, match: { path: `/r${i}/*` }, public: true, upstream: { url } })),
  });
  try {
    for (let i = 0; i < 50; i++) assert.equal((await rawRequest(gw.url, 'GET', `/r${i}/x`)).status, 200);
    assert.equal(connections, 1, '50 routes, sequential requests: one upstream connection');
  } finally {
    await gw.stop();
    upstream.closeAllConnections();
    upstream.close();
  }
});

test('routes with the same configuration share compiled parts; a difference gets its own', async () => {
  const route = (name: string, extra = '') =>
    `  - name: ${name}\n    match: { path: /${name}/* }\n    authenticate: [dev]\n    allow: [ { roles: [reader] } ]\n    upstream: { url: "http://127.0.0.1:1"${extra} }\n`;
  const text = `dev: true\nroutes:\n${route('a')}${route('b')}${route('c', ', identityHeaders: { x-who: subject }')}`;
  const dir = mkdtempSync(join(tmpdir(), 'gh-memo-'));
  const { config } = loadConfigText(text, `${dir}/g.yaml`, {});
  const rt = await compileRuntime(config, { baseDir: dir, connect: false });
  try {
    const [a, b, c] = rt.routes;
    assert.equal(a!.policy, b!.policy);
    assert.equal(a!.upstream, b!.upstream);
    // Stage by stage: authenticate, authorize, outbound, upstream are the same objects.
    assert.deepEqual(a!.stages.map((s) => s.name), ['authenticate', 'authorize', 'outbound', 'upstream']);
    a!.stages.forEach((s, i) => assert.equal(s, b!.stages[i], `stage ${s.name} shared`));
    assert.notEqual(a!.stages[2], c!.stages[2], 'different identity headers: an outbound stage of its own');
    assert.equal(a!.stages[0], c!.stages[0], 'same authentication: shared');
    assert.equal(a!.name, 'a');
    assert.equal(b!.name, 'b');
  } finally {
    await rt.close();
  }
});
