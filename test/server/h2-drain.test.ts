// Draining with HTTP/2 connections open: SIGTERM sends GOAWAY, an in-flight stream finishes, and
// what is still open when the grace period ends is cut (and counted as forced).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SLOW_BODY, startSlowGateway } from '../harness/drain.js';
import { startUpstream } from '../harness/upstream.js';
import { startGateway } from '../harness/gateway.js';
import { h2Connect, h2Request } from '../harness/h2.js';

test('SIGTERM with an open h2 stream: GOAWAY, the stream completes, no new stream is served, exit 0', async () => {
  const { gw, base, requestArrived, close } = await startSlowGateway({ http2: { h2c: true } });
  try {
    const session = await h2Connect(base);
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code) => resolve(code)));
    const inFlight = h2Request(session, '/slow');
    await requestArrived;
    gw.child.kill('SIGTERM');
    assert.equal(await goaway, 0, 'GOAWAY with NO_ERROR');
    await assert.rejects(h2Request(session, '/after'), 'no new stream on a connection that got GOAWAY');
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.equal(res.text, SLOW_BODY);
    assert.equal(await gw.exited, 0);
  } finally {
    await close();
  }
});

test('a stream still open when the grace period ends is cut and counted as forced', async () => {
  let arrived!: () => void;
  const requestArrived = new Promise<void>((r) => { arrived = r; });
  const upstream = await startUpstream(() => arrived()); // never answers
  const gw = await startGateway({
    listen: { shutdownGrace: '300ms', http2: { h2c: true } },
    routes: [{ name: 'hang', match: { path: '/*' }, public: true, upstream: { url: upstream.url } }],
  });
  try {
    const session = await h2Connect(gw.url);
    const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
    const hanging = h2Request(session, '/hang').then(() => 'answered', () => 'cut');
    await requestArrived;
    const idle = await h2Connect(gw.url);
    const idleClosed = new Promise<void>((resolve) => idle.once('close', () => resolve()));
    const result = await gw.gateway.stop();
    assert.deepEqual(result, { forced: 1 }, 'the open h2 stream was in flight');
    assert.equal(await hanging, 'cut');
    await closed;
    await idleClosed;
  } finally {
    await upstream.close();
  }
});
