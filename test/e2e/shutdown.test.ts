import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SLOW_BODY, startSlowGateway } from '../harness/drain.js';
import { rawRequest } from '../harness/http.js';

test('SIGTERM during an in-flight request: the request completes, new connections are refused, exit 0', async () => {
  const { gw, base, requestArrived, close } = await startSlowGateway();
  try {
    const inFlight = rawRequest(base, 'GET', '/slow');
    await requestArrived;
    gw.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    await assert.rejects(rawRequest(base, 'GET', '/after'), /ECONNREFUSED|ECONNRESET/);
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.equal(res.body, SLOW_BODY);
    assert.equal(await gw.exited, 0);
  } finally {
    await close();
  }
});
