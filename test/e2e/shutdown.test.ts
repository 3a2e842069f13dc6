import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnCli } from '../harness/run-cli.js';
import { startUpstream } from '../harness/upstream.js';
import { writeConfig } from '../harness/gateway.js';
import { rawRequest } from '../harness/http.js';

test('SIGTERM during an in-flight request: the request completes, new connections are refused, exit 0', async () => {
  let arrived!: () => void;
  const requestArrived = new Promise<void>((r) => { arrived = r; });
  const upstream = await startUpstream((_req, res) => {
    arrived();
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('slow but complete'), 1500);
  });
  const file = writeConfig(JSON.stringify({
    listen: { port: 0, host: '127.0.0.1', shutdownGrace: '10s' },
    admin: { port: 0 },
    audit: { sink: 'off' },
    routes: [{ name: 'slow', match: { path: '/*' }, public: true, upstream: { url: upstream.url } }],
  }));
  const gw = await spawnCli(['start', '-c', file], /"port":(\d+),"admin":(\d+)[^\n]*gatehouse listening/);
  const base = `http://127.0.0.1:${gw.match[1]}`;
  try {
    const inFlight = rawRequest(base, 'GET', '/slow');
    await requestArrived;
    gw.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    await assert.rejects(rawRequest(base, 'GET', '/after'), /ECONNREFUSED|ECONNRESET/);
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.equal(res.body, 'slow but complete');
    assert.equal(await gw.exited, 0);
  } finally {
    gw.child.kill('SIGKILL');
    await upstream.close();
  }
});
