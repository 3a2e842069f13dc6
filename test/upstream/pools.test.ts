import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { UpstreamPools } from '../../src/upstream/pools.js';
import { startGateway } from '../harness/gateway.js';
import { rawRequest } from '../harness/http.js';

const base = { origin: 'http://127.0.0.1:1', connections: 8, headersTimeoutMs: 1000, bodyTimeoutMs: 1000, connectTimeoutMs: 1000 };

test('one pool per distinct upstream settings', async () => {
  const pools = new UpstreamPools();
  assert.equal(pools.get(base), pools.get({ ...base }));
  assert.notEqual(pools.get(base), pools.get({ ...base, ca: 'PEM' }));
  assert.notEqual(pools.get(base), pools.get({ ...base, origin: 'http://127.0.0.1:2' }));
  assert.equal(pools.size, 3);
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
