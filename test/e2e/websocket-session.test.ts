/**
 * A WebSocket upgrade authenticated by a browser session: the same session identity as any request,
 * and the cross-site WebSocket hijacking check — a page on another origin cannot open a socket with
 * the user's cookies (browsers send Origin on every WebSocket handshake).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket, WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { browse, CookieJar, startSsoEnv, type SsoEnv } from '../harness/sso.js';

let env: SsoEnv;
let wss: WebSocketServer;
const seen: Record<string, string | string[] | undefined>[] = [];

before(async () => {
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (socket, req) => { seen.push(req.headers); socket.on('message', (m) => socket.send(m)); });
  const wsUpstream = `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  env = await startSsoEnv({
    routes: () => [
      { name: 'live', match: { path: '/live/*' }, authenticate: ['session:idp'], websocket: true, upstream: { url: wsUpstream } },
      { name: 'app', match: { path: '/app/*' }, authenticate: ['session:idp'], upstream: { url: wsUpstream } },
    ],
  });
});
after(async () => { await env?.stop(); wss?.close(); });

/** Open a socket with `cookie` and `origin`; resolves with the echo, or the handshake's refusal status. */
function open(cookie: string, origin: string): Promise<{ echo?: string; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${env.origin.replace('http', 'ws')}/live/feed`, { headers: { cookie, origin } });
    ws.on('open', () => ws.send('ping'));
    ws.on('message', (m) => { resolve({ echo: String(m) }); ws.close(); });
    ws.on('unexpected-response', (_req, res) => { resolve({ status: res.statusCode }); res.resume(); });
    ws.on('error', () => undefined);
  });
}

test('the signed-in user\'s socket opens from its own origin with the session identity; another origin is refused', async () => {
  const jar = new CookieJar();
  const nav = await browse(jar, `${env.origin}/app/home`, 'alice');
  await nav.response.arrayBuffer().catch(() => undefined);
  const cookie = jar.header(env.origin) ?? '';
  assert.match(cookie, /__Host-gh_session/);
  const own = await open(cookie, env.origin);
  assert.equal(own.echo, 'ping', JSON.stringify(own));
  assert.equal(seen.at(-1)?.['x-gatehouse-subject'], 'alice');
  assert.doesNotMatch(String(seen.at(-1)?.cookie ?? ''), /__Host-gh_/, 'the session cookie stays at the gateway');
  const before = seen.length;
  const hijack = await open(cookie, 'https://evil.example');
  assert.equal(hijack.status, 403, 'cross-site WebSocket hijacking refused');
  assert.equal(seen.length, before, 'the upstream never saw the hijacking attempt');
});
