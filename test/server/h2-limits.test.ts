// The listener's limits over HTTP/2: header list size, streams per connection, rapid reset, body
// size, request and idle timeouts. Each test makes the attack with node's own HTTP/2 client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2, { constants } from 'node:http2';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { h2Connect, h2Request } from '../harness/h2.js';

let upstream: TestUpstream;
let gw: TestGateway;

before(async () => {
  // /slow answers after 300 ms, anything else at once (echo of what arrived).
  upstream = await startUpstream((req, res, seen) => {
    req.on('data', (c: Buffer) => { seen.bodyBytes += c.length; });
    req.on('end', () => {
      const send = (): void => { if (!res.destroyed) res.end(JSON.stringify({ url: seen.url, bodyBytes: seen.bodyBytes })); };
      if (req.url?.startsWith('/slow')) setTimeout(send, 300);
      else send();
    });
  });
  gw = await startGateway({
    listen: { maxHeaderSize: '4kb', headersTimeout: '1s', requestTimeout: '1s', idleTimeout: '1s', http2: { h2c: true, maxConcurrentStreams: 2, maxResets: 50 } },
    routes: [
      { name: 'small', match: { path: '/small' }, public: true, maxBodySize: '1kb', upstream: { url: upstream.url } },
      { name: 'all', match: { path: '/*' }, public: true, upstream: { url: upstream.url } },
    ],
  });
});
after(async () => { await gw.stop(); await upstream.close(); });

/** The outcome of one stream: its status, or the code it was reset with. */
function outcome(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<{ status?: number; rst?: number }> {
  return new Promise((resolve) => {
    const stream = session.request({ ':path': '/', ...headers }, { endStream: body === undefined });
    let status: number | undefined;
    stream.on('response', (h) => { status = Number(h[':status']); });
    stream.resume();
    stream.on('close', () => resolve(status !== undefined && stream.rstCode === constants.NGHTTP2_NO_ERROR ? { status } : { ...(status !== undefined ? { status } : {}), rst: stream.rstCode }));
    stream.on('error', () => { /* the rst code says it */ });
    if (body !== undefined) stream.end(body);
  });
}

test('a header list over listen.maxHeaderSize is refused; the connection goes on serving', async () => {
  const session = await h2Connect(gw.url);
  const big = await outcome(session, { ':path': '/h', 'x-big': 'a'.repeat(8000) });
  assert.ok(big.status === 431 || big.rst === constants.NGHTTP2_ENHANCE_YOUR_CALM || big.rst === constants.NGHTTP2_REFUSED_STREAM, `refused: ${JSON.stringify(big)}`);
  assert.equal(upstream.seen.filter((s) => s.url === '/h').length, 0, 'never reached the upstream');
  const ok = await h2Request(session, '/after', { 'x-small': 'a'.repeat(1000) });
  assert.equal(ok.status, 200);
  session.close();
});

test('streams over maxConcurrentStreams are refused with REFUSED_STREAM; the others are served', async () => {
  // The requests leave with the client preface, before the server's SETTINGS could be read: a
  // client that does not wait for the limit.
  const session = http2.connect(gw.url, { peerMaxConcurrentStreams: 100 });
  session.on('error', () => { /* per stream */ });
  const results = await Promise.all(Array.from({ length: 6 }, (_, i) => outcome(session, { ':path': `/slow/${i}` })));
  const served = results.filter((r) => r.status === 200).length;
  const refused = results.filter((r) => r.rst === constants.NGHTTP2_REFUSED_STREAM).length;
  assert.deepEqual({ served, refused }, { served: 2, refused: 4 }, JSON.stringify(results));
  // The connection itself is fine, and so is another one.
  assert.equal((await h2Request(session, '/again')).status, 200);
  session.close();
  const other = await h2Connect(gw.url);
  assert.equal((await h2Request(other, '/other')).status, 200);
  other.close();
});

test('rapid reset: a client resetting streams past maxResets gets GOAWAY ENHANCE_YOUR_CALM and is cut off; another client is served', async () => {
  const attacker = await h2Connect(gw.url);
  const goaway = new Promise<number>((resolve) => attacker.once('goaway', (code) => resolve(code)));
  const closed = new Promise<void>((resolve) => attacker.once('close', () => resolve()));
  const victim = await h2Connect(gw.url);
  const served: Promise<number>[] = [];
  let sent = 0;
  // Batches of HEADERS, each reset right after it left (the CVE-2023-44487 pattern), until the gateway hangs up.
  while (!attacker.destroyed && !attacker.closed && sent < 2000) {
    for (let i = 0; i < 20; i++) {
      const stream = attacker.request({ ':path': `/slow/rr${sent++}` });
      stream.on('error', () => { /* reset */ });
      setImmediate(() => stream.close(constants.NGHTTP2_CANCEL));
    }
    served.push(h2Request(victim, '/fine').then((r) => r.status));
    await new Promise((r) => setTimeout(r, 1));
  }
  assert.equal(await goaway, constants.NGHTTP2_ENHANCE_YOUR_CALM);
  await closed;
  assert.ok(sent < 1000, `cut off by the gateway's budget (${sent} streams), before node's own limit`);
  assert.ok((await Promise.all(served)).every((s) => s === 200), 'the well-behaved client was served throughout');
  assert.equal((await h2Request(victim, '/after-attack')).status, 200);
  victim.close();
});

test('a few resets stay within the budget: the connection goes on', async () => {
  const session = await h2Connect(gw.url);
  for (let i = 0; i < 20; i++) {
    const stream = session.request({ ':path': `/slow/cancel${i}` });
    stream.on('error', () => { /* reset */ });
    setImmediate(() => stream.close(constants.NGHTTP2_CANCEL));
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal((await h2Request(session, '/still')).status, 200);
  assert.equal(session.destroyed, false);
  session.close();
});

test('a body over the route limit is refused 413, with or without content-length', async () => {
  const session = await h2Connect(gw.url);
  const body = Buffer.alloc(4096, 'x');
  const streamed = await h2Request(session, '/small', {}, body);
  assert.equal(streamed.status, 413, streamed.text);
  assert.equal(streamed.json().code, 'body_too_large');
  const declared = await h2Request(session, '/small', { 'content-length': String(body.length) }, body);
  assert.equal(declared.status, 413);
  const fits = await h2Request(session, '/small', {}, Buffer.alloc(100, 'y'));
  assert.equal(fits.status, 200);
  assert.equal(fits.json<{ bodyBytes: number }>().bodyBytes, 100);
  session.close();
});

test('a request whose body does not arrive within requestTimeout gets 408 and its stream ends', async () => {
  const session = await h2Connect(gw.url);
  const stream = session.request({ ':method': 'POST', ':path': '/slowloris' }, { endStream: false });
  stream.write('partial');
  stream.on('error', () => { /* closed */ });
  let status = 0;
  stream.on('response', (h) => { status = Number(h[':status']); });
  stream.resume();
  await new Promise((resolve) => stream.once('close', resolve));
  assert.equal(status, 408);
  session.close();
});

test('a connection without streams for idleTimeout is closed', async () => {
  const session = await h2Connect(gw.url);
  assert.equal((await h2Request(session, '/once')).status, 200);
  await new Promise<void>((resolve) => session.once('close', () => resolve()));
  assert.equal(session.destroyed, true);
});

test('requestTimeout 0s turns the request timeout off over HTTP/2, as over HTTP/1.1: a slow body is served', async () => {
  const open = await startGateway({
    listen: { requestTimeout: '0s', http2: { h2c: true } },
    routes: [{ name: 'all', match: { path: '/*' }, public: true, upstream: { url: upstream.url } }],
  });
  try {
    const session = await h2Connect(open.url);
    const stream = session.request({ ':method': 'POST', ':path': '/unhurried' }, { endStream: false });
    stream.on('error', () => { /* the status says it */ });
    let status = 0;
    stream.on('response', (h) => { status = Number(h[':status']); });
    stream.resume();
    stream.write('first');
    setTimeout(() => stream.end('second'), 600);
    await new Promise((resolve) => stream.once('close', resolve));
    assert.equal(status, 200);
    session.close();
  } finally {
    await open.stop();
  }
});
