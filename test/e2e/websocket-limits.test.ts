// WebSocket limits and lifecycle: idle and maximum lifetime, back-pressure, a broken handshake, drain on stop.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { connectWebSocket, startWebSocketUpstream, type Connected, type UpstreamSocket, type WebSocketUpstream } from '../harness/websocket.js';
import { rawBytes } from '../harness/http.js';

let upstream: WebSocketUpstream;
let gw: TestGateway;
/** Sockets the upstream reads from only when the test says so. */
const held: UpstreamSocket[] = [];

before(async () => {
  upstream = await startWebSocketUpstream((s) => {
    if (s.path.startsWith('/slow')) {
      s.ws.pause();
      held.push(s);
    } else s.ws.on('message', (data, isBinary) => s.ws.send(data, { binary: isBinary }));
  });
  gw = await startGateway({
    listen: { shutdownGrace: '300ms' },
    routes: [
      { name: 'idle', match: { path: '/idle/*' }, public: true, websocket: { idleTimeout: '300ms' }, upstream: { url: upstream.url } },
      { name: 'short', match: { path: '/short/*' }, public: true, websocket: { maxLifetime: '400ms' }, upstream: { url: upstream.url } },
      { name: 'slow', match: { path: '/slow/*' }, public: true, websocket: true, upstream: { url: upstream.url } },
      { name: 'open', match: { path: '/open/*' }, public: true, websocket: true, upstream: { url: upstream.url } },
    ],
  });
});
after(async () => { await upstream.close(); });

const wsUrl = (path: string): string => `${gw.url.replace('http:', 'ws:')}${path}`;
const tick = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

function open(c: Connected): Extract<Connected, { ok: true }> {
  assert.ok(c.ok, c.ok ? '' : `refused ${c.status}: ${c.body}`);
  return c;
}

test('idle timeout: no frame either way closes both sides with 1000; traffic keeps it open', async () => {
  const accepted = upstream.next();
  const c = open(await connectWebSocket(wsUrl('/idle/x')));
  const s = await accepted;
  // Messages more often than the idle timeout keep it open past it.
  for (let i = 0; i < 4; i++) {
    await tick(150);
    c.ws.send('keep');
  }
  assert.equal(c.ws.readyState, c.ws.OPEN);
  assert.deepEqual(await c.closed, { code: 1000, reason: 'idle timeout' });
  assert.equal((await s.closed).code, 1000);
  const line = await gw.auditLine((l) => l.route === 'idle' && l.status === 101);
  assert.deepEqual(line?.websocket, { messages_in: 4, messages_out: 4, close_code: 1000, closed_by: 'gateway' });
});

test('maximum lifetime: a busy WebSocket is still closed, with 1001 (reconnect)', async () => {
  const c = open(await connectWebSocket(wsUrl('/short/x')));
  const timer = setInterval(() => c.ws.send('busy'), 50);
  try {
    assert.deepEqual(await c.closed, { code: 1001, reason: 'maximum lifetime reached' });
  } finally {
    clearInterval(timer);
  }
});

test('back-pressure: with an upstream that stops reading, the gateway stops reading the client; nothing is lost once it reads again', async () => {
  const accepted = upstream.next();
  const c = open(await connectWebSocket(wsUrl('/slow/x')));
  const s = await accepted;
  const chunk = Buffer.alloc(64 * 1024, 7);
  const count = 1024; // 64 MiB
  for (let i = 0; i < count; i++) c.ws.send(chunk);
  // Wait until the client's queue stops shrinking: everything the path between would take is taken.
  let last = -1;
  while (c.ws.bufferedAmount !== last) {
    last = c.ws.bufferedAmount;
    await tick(100);
  }
  // The gateway holds at most its high-water mark and what the kernel buffers: the bulk waits at the client.
  assert.ok(c.ws.bufferedAmount > 32 * 1024 * 1024, `client still holds ${c.ws.bufferedAmount} bytes`);
  let got = 0;
  let bytes = 0;
  const all = new Promise<void>((resolve) => s.ws.on('message', (data: Buffer) => {
    got++;
    bytes += data.length;
    if (got === count) resolve();
  }));
  s.ws.resume();
  await all;
  assert.equal(bytes, count * chunk.length);
  c.ws.close(1000);
  await s.closed;
});

test('a WebSocket handshake that is not one (no key, wrong version, POST, subprotocols that are not distinct tokens) is refused 400, never upgraded', async () => {
  const before = upstream.sockets.length;
  const head = ['host: a', 'connection: Upgrade', 'upgrade: websocket'];
  for (const lines of [
    ['GET /open/x HTTP/1.1', ...head, 'sec-websocket-version: 13'],
    ['GET /open/x HTTP/1.1', ...head, 'sec-websocket-version: 8', 'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ=='],
    ['POST /open/x HTTP/1.1', ...head, 'sec-websocket-version: 13', 'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==', 'content-length: 0'],
    ['GET /open/x HTTP/1.1', ...head, 'sec-websocket-version: 13', 'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-protocol: a b, a/b'],
    ['GET /open/x HTTP/1.1', ...head, 'sec-websocket-version: 13', 'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-protocol: chat, chat'],
  ]) {
    const res = await rawBytes(gw.url, lines.join('\r\n'));
    assert.match(res.text, /^HTTP\/1\.1 400/);
    assert.match(res.text, /"code":"websocket_handshake_invalid"/);
  }
  assert.equal(upstream.sockets.length, before);
});

test('stop: upgrades are refused, open WebSockets are closed with 1001 after the grace period, and stop resolves', async () => {
  const accepted = upstream.next();
  const c = open(await connectWebSocket(wsUrl('/open/x')));
  const s = await accepted;
  const stopped = gw.stop();
  await tick(50);
  await assert.rejects(connectWebSocket(wsUrl('/open/y')), 'no new upgrade while draining');
  assert.equal(c.ws.readyState, c.ws.OPEN, 'an open WebSocket gets the grace period');
  assert.deepEqual(await c.closed, { code: 1001, reason: 'gateway shutting down' });
  assert.equal((await s.closed).code, 1001);
  await stopped;
  // Drain waited for the close: the audit line was written before the sink closed.
  const line = await gw.auditLine((l) => l.route === 'open' && l.status === 101);
  assert.deepEqual(line?.websocket, { messages_in: 0, messages_out: 0, close_code: 1001, closed_by: 'gateway' });
});
