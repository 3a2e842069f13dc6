// Draining with HTTP/2 connections open: SIGTERM sends GOAWAY, an in-flight stream finishes, and
// what is still open when the grace period ends is cut (and counted as forced).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnCli } from '../harness/run-cli.js';
import { startUpstream } from '../harness/upstream.js';
import { startGateway, writeConfig } from '../harness/gateway.js';
import { h2Connect, h2Request } from '../harness/h2.js';

test('SIGTERM with an open h2 stream: GOAWAY, the stream completes, no new stream is served, exit 0', async () => {
  let arrived!: () => void;
  const requestArrived = new Promise<void>((r) => { arrived = r; });
  const upstream = await startUpstream((req, res) => {
    if (req.url !== '/slow') return void res.end('quick');
    arrived();
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('slow but complete'), 1500);
  });
  const file = writeConfig(JSON.stringify({
    listen: { port: 0, host: '127.0.0.1', shutdownGrace: '10s', http2: { h2c: true } },
    admin: { port: 0 },
    audit: { sink: 'off' },
    routes: [{ name: 'slow', match: { path: '/*' }, public: true, upstream: { url: upstream.url } }],
  }));
  const gw = await spawnCli(['start', '-c', file], /"port":(\d+),"admin":(\d+)[^\n]*gatehouse listening/);
  const base = `http://127.0.0.1:${gw.match[1]}`;
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
    assert.equal(res.text, 'slow but complete');
    assert.equal(await gw.exited, 0);
  } finally {
    gw.child.kill('SIGKILL');
    await upstream.close();
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
