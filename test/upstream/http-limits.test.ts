import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import { request } from 'undici';
import { closeAll, generated, startChain, type ChainOptions, type Handler } from './helpers.js';

const opened: { close(): Promise<void> }[] = [];
after(() => closeAll(opened));
const chain = (handler: Handler, opts?: ChainOptions) => startChain(handler, opts, opened);

/** An upstream that counts what it receives and reports whether its request ended cleanly. */
function countingUpstream(): { handler: Handler; ended: Promise<{ bytes: number; complete: boolean }>; firstBytes: Promise<void>; hits: () => number } {
  let hits = 0;
  let report!: (r: { bytes: number; complete: boolean }) => void;
  let gotBytes!: () => void;
  const ended = new Promise<{ bytes: number; complete: boolean }>((resolve) => (report = resolve));
  const firstBytes = new Promise<void>((resolve) => (gotBytes = resolve));
  const handler: Handler = (req, res) => {
    hits += 1;
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      gotBytes();
    });
    req.on('end', () => res.end(String(bytes)));
    req.on('close', () => report({ bytes, complete: req.complete }));
  };
  return { handler, ended, firstBytes, hits: () => hits };
}

describe('request body limit', () => {
  test('declared Content-Length over the limit → 413 body_too_large, upstream never contacted', async () => {
    const up = countingUpstream();
    const { front } = await chain(up.handler, { maxBodyBytes: 1000 });
    const result = front.nextResult();
    const res = await request(`${front.url}/upload`, { method: 'POST', body: Buffer.alloc(5000, 1) });
    assert.equal(res.statusCode, 413);
    assert.equal(((await res.body.json()) as { code: string }).code, 'body_too_large');
    const r = await result;
    assert.equal(r.error?.code, 'body_too_large');
    assert.equal(r.responded, false);
    assert.equal(up.hits(), 0);
  });

  test('chunked body crossing the limit → body_too_large; the upstream request is aborted, not ended short', async () => {
    const up = countingUpstream();
    const limit = 1024 * 1024;
    const { front } = await chain(up.handler, { maxBodyBytes: limit });
    const result = front.nextResult();
    const client = request(`${front.url}/upload`, { method: 'POST', body: generated(64 * 1024 * 1024) })
      .then(async (res) => ({ status: res.statusCode, body: await res.body.text() }))
      .catch((err: Error) => ({ status: 0, body: err.message }));
    const r = await result;
    assert.equal(r.error?.code, 'body_too_large');
    assert.equal(r.status, 413);
    assert.ok(r.bytesIn <= limit, `sent ${r.bytesIn}`);
    const seen = await up.ended;
    assert.equal(seen.complete, false, 'upstream must not see a complete (truncated) body');
    assert.ok(seen.bytes <= limit);
    const answer = await client;
    // Node closes the connection after the 413; a client still sending may see the reset first.
    if (answer.status !== 0) assert.equal(answer.status, 413);
  });
});

describe('client disconnects', () => {
  test('client abort mid-upload aborts the upstream request', async () => {
    const up = countingUpstream();
    const { front } = await chain(up.handler);
    const result = front.nextResult();
    const req = httpRequest(`${front.url}/upload`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } });
    req.on('error', () => undefined);
    req.write(Buffer.alloc(64 * 1024, 1));
    await up.firstBytes;
    req.destroy();
    const seen = await up.ended;
    assert.equal(seen.complete, false);
    const r = await result;
    assert.equal(r.error?.code, 'client_aborted');
    assert.equal(r.responded, false);
  });

  test('client abort mid-download aborts the upstream request', async () => {
    let upstreamClosed!: (finished: boolean) => void;
    const closed = new Promise<boolean>((resolve) => (upstreamClosed = resolve));
    const { front } = await chain((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const timer = setInterval(() => res.write(Buffer.alloc(16 * 1024)), 5);
      res.on('close', () => {
        clearInterval(timer);
        upstreamClosed(res.writableFinished);
      });
    });
    const result = front.nextResult();
    const req = httpRequest(`${front.url}/download`);
    req.on('error', () => undefined);
    req.end();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    await once(res, 'data');
    req.destroy();
    assert.equal(await closed, false);
    const r = await result;
    assert.equal(r.error?.code, 'client_aborted');
    assert.equal(r.responded, true);
    assert.equal(r.status, 200);
  });
});
