// WebSocket proxying: the upgrade passes the route's whole pipeline, then messages relay both ways.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { connectWebSocket, nextMessage, startWebSocketUpstream, type Connected, type WebSocketUpstream } from '../harness/websocket.js';
import { WebSocket } from 'ws';
import { formatApiKeyHash, generateApiKey } from '../../src/authn/apikey/format.js';

let upstream: WebSocketUpstream;
let plainHttp: TestUpstream;
let gw: TestGateway;
const keys: Record<string, string> = {};
const BACKEND_SECRET = 'backend-secret-for-ws';

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ws-'));
  const reader = generateApiKey();
  const stranger = generateApiKey();
  keys.reader = reader.key;
  keys.stranger = stranger.key;
  const keysFile = join(dir, 'keys.yaml');
  writeFileSync(keysFile, `keys:\n  - ${JSON.stringify({ id: reader.id, name: 'dashboard-user', roles: ['reader'], hash: formatApiKeyHash(reader.key) })}\n` +
    `  - ${JSON.stringify({ id: stranger.id, name: 'stranger', roles: ['other'], hash: formatApiKeyHash(stranger.key) })}\n`);
  writeFileSync(join(dir, 'backend-key'), BACKEND_SECRET);
  upstream = await startWebSocketUpstream();
  plainHttp = await startUpstream();
  const wsUpstream = { url: upstream.url, assertion: true, auth: [{ type: 'header', name: 'x-backend-key', value: `\${file:${join(dir, 'backend-key')}}` }] };
  gw = await startGateway({
    providers: { keys: { type: 'api-key', keys: keysFile } },
    routes: [
      { name: 'live', match: { path: '/live/*' }, authenticate: ['keys'], allow: [{ roles: ['reader'] }], websocket: { maxMessageSize: '64kb' }, upstream: wsUpstream },
      { name: 'plain', match: { path: '/plain/*' }, authenticate: ['keys'], upstream: { url: upstream.url } },
      { name: 'refusing', match: { path: '/refusing/*' }, public: true, websocket: true, upstream: { url: plainHttp.url } },
      { name: 'gone', match: { path: '/gone/*' }, public: true, websocket: true, upstream: { url: 'http://127.0.0.1:1' } },
    ],
  });
});
after(async () => { await gw.stop(); await upstream.close(); await plainHttp.close(); });

const wsUrl = (path: string): string => `${gw.url.replace('http:', 'ws:')}${path}`;

function open(c: Connected): Extract<Connected, { ok: true }> {
  assert.ok(c.ok, c.ok ? '' : `refused ${c.status}: ${c.body}`);
  return c;
}

test('an authenticated upgrade relays text and binary both ways; the upstream sees the identity headers, assertion and credential, never the client\'s key or forged headers', async () => {
  const accepted = upstream.next();
  const c = open(await connectWebSocket(wsUrl('/live/feed?x=1'), { 'x-api-key': keys.reader!, 'x-gatehouse-subject': 'admin', 'x-backend-key': 'forged' }, ['chat.v2', 'chat.v1']));
  const s = await accepted;
  assert.equal(s.path, '/live/feed?x=1');
  assert.equal(s.headers['x-gatehouse-subject'], 'dashboard-user');
  assert.equal(s.headers['x-gatehouse-roles'], 'reader');
  assert.equal(s.headers['x-backend-key'], BACKEND_SECRET);
  assert.equal(s.headers['x-api-key'], undefined, 'the caller\'s key stays at the gateway');
  assert.equal(String(s.headers['x-gatehouse-assertion']).split('.').length, 3);
  assert.equal(c.ws.protocol, 'chat.v2', 'the subprotocol the upstream chose');

  c.ws.send('hello');
  const text = await nextMessage(c.ws);
  assert.equal(text.isBinary, false);
  assert.equal(text.data.toString(), 'hello');
  const bytes = Buffer.from([0, 1, 2, 255]);
  c.ws.send(bytes);
  const bin = await nextMessage(c.ws);
  assert.equal(bin.isBinary, true);
  assert.deepEqual(bin.data, bytes);
  // The upstream speaks first too.
  const pushed = nextMessage(c.ws);
  s.ws.send('tick');
  assert.equal((await pushed).data.toString(), 'tick');
  c.ws.close(4000, 'bye');
  assert.equal((await s.closed).code, 4000, 'the client\'s close code reaches the upstream');
  assert.equal((await c.closed).code, 4000);

  const line = await gw.auditLine((l) => l.route === 'live' && l.status === 101);
  assert.ok(line, 'one audit line when the socket closed');
  assert.equal(line.upstream_status, 101);
  assert.deepEqual(line.websocket, { messages_in: 2, messages_out: 3, close_code: 4000, closed_by: 'client' });
  assert.equal(line.bytes_in, 5 + 4);
  assert.equal(line.bytes_out, 5 + 4 + 4);
  assert.ok((line.duration_ms as number) > 0);
  assert.ok(!JSON.stringify(line).includes(BACKEND_SECRET) && !JSON.stringify(line).includes(keys.reader!), 'no secret in the audit line');
});

test('the upstream closing is relayed to the client with its code', async () => {
  const accepted = upstream.next();
  const c = open(await connectWebSocket(wsUrl('/live/x'), { 'x-api-key': keys.reader! }));
  const s = await accepted;
  s.ws.close(4001, 'done');
  assert.deepEqual(await c.closed, { code: 4001, reason: 'done' });
  const line = await gw.auditLine((l) => l.route === 'live' && (l.websocket as { close_code?: number } | undefined)?.close_code === 4001);
  assert.equal((line?.websocket as { closed_by: string }).closed_by, 'upstream');
});

test('a message the upstream sends with its 101 reaches the client (nothing is read before the relay listens)', async () => {
  for (let i = 0; i < 5; i++) {
    const ws = new WebSocket(wsUrl('/live/welcome'), { headers: { 'x-api-key': keys.reader! } });
    const first = await nextMessage(ws);
    assert.equal(first.data.toString(), 'welcome');
    ws.close();
  }
});

test('no credential: 401 problem on the socket, never upgraded, and the upstream saw no connection', async () => {
  const before = upstream.sockets.length;
  const c = await connectWebSocket(wsUrl('/live/feed'));
  assert.ok(!c.ok);
  assert.equal(c.status, 401);
  assert.match(String(c.headers['content-type']), /application\/problem\+json/);
  assert.equal(JSON.parse(c.body).code, 'token_missing');
  const bad = await connectWebSocket(wsUrl('/live/feed'), { 'x-api-key': `${keys.reader!.slice(0, -2)}xx` });
  assert.ok(!bad.ok);
  assert.equal(bad.status, 401);
  assert.equal(upstream.sockets.length, before);
  const line = await gw.auditLine((l) => l.route === 'live' && l.status === 401);
  assert.equal(line?.websocket, undefined);
});

test('an authenticated caller the policy does not allow: 403, never upgraded', async () => {
  const before = upstream.sockets.length;
  const c = await connectWebSocket(wsUrl('/live/feed'), { 'x-api-key': keys.stranger! });
  assert.ok(!c.ok);
  assert.equal(c.status, 403);
  assert.equal(JSON.parse(c.body).code, 'no_rule_matched');
  assert.equal(upstream.sockets.length, before);
});

test('a route without `websocket` refuses the upgrade (400 upgrade_not_supported) after authentication', async () => {
  const before = upstream.sockets.length;
  const c = await connectWebSocket(wsUrl('/plain/x'), { 'x-api-key': keys.reader! });
  assert.ok(!c.ok);
  assert.equal(c.status, 400);
  assert.equal(JSON.parse(c.body).code, 'upgrade_not_supported');
  assert.equal(upstream.sockets.length, before);
});

test('an upstream that does not accept the upgrade: 502 upstream_websocket_refused; one that is down: 502 upstream_unreachable', async () => {
  const c = await connectWebSocket(wsUrl('/refusing/x'));
  assert.ok(!c.ok);
  assert.equal(c.status, 502);
  assert.equal(JSON.parse(c.body).code, 'upstream_websocket_refused');
  const line = await gw.auditLine((l) => l.route === 'refusing');
  assert.equal(line?.upstream_status, 200);
  assert.match(String(line?.error_detail), /200/);
  const down = await connectWebSocket(wsUrl('/gone/x'));
  assert.ok(!down.ok);
  assert.equal(down.status, 502);
  assert.equal(JSON.parse(down.body).code, 'upstream_unreachable');
});

test('a message over maxMessageSize closes both sides with 1009', async () => {
  const accepted = upstream.next();
  const c = open(await connectWebSocket(wsUrl('/live/x'), { 'x-api-key': keys.reader! }));
  const s = await accepted;
  let upstreamGot = 0;
  s.ws.on('message', () => upstreamGot++);
  c.ws.send(Buffer.alloc(65 * 1024));
  assert.equal((await c.closed).code, 1009);
  assert.equal((await s.closed).code, 1009);
  assert.equal(upstreamGot, 0, 'the oversized message never reached the upstream');
  const line = await gw.auditLine((l) => l.route === 'live' && (l.websocket as { close_code?: number } | undefined)?.close_code === 1009);
  assert.equal((line?.websocket as { closed_by: string }).closed_by, 'gateway');
});
