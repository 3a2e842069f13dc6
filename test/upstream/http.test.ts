import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { closeAll, echo, generated, startChain, startFront, type ChainOptions, type Handler } from './helpers.js';
import { refusingPort } from '../harness/upstream.js';

const opened: { close(): Promise<void> }[] = [];
after(() => closeAll(opened));
const chain = (handler: Handler, opts?: ChainOptions) => startChain(handler, opts, opened);

describe('http upstream: forwarding', () => {
  test('GET goes to basePath + path without stripPrefix, keeps the query, sets forwarding headers', async () => {
    const { up, front } = await chain(echo, { basePath: '/base/', cfg: { stripPrefix: '/api' } });
    const result = front.nextResult();
    const res = await request(`${front.url}/api/users/7?x=1&y=%20`, { headers: { 'x-forwarded-for': '6.6.6.6', accept: 'application/json' } });
    assert.equal(res.statusCode, 200);
    const seen = (await res.body.json()) as { method: string; url: string; headers: Record<string, string> };
    assert.equal(seen.method, 'GET');
    assert.equal(seen.url, '/base/users/7?x=1&y=%20');
    assert.equal(seen.headers.host, `127.0.0.1:${up.port}`);
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers.accept, 'application/json');
    const r = await result;
    assert.equal(r.status, 200);
    assert.equal(r.responded, true);
    assert.equal(r.error, undefined);
    assert.ok(r.bytesOut > 0);
  });

  test('POST body streams through and is counted', async () => {
    const { front } = await chain(echo);
    const result = front.nextResult();
    const res = await request(`${front.url}/submit`, { method: 'POST', body: 'hello upstream', headers: { 'content-type': 'text/plain' } });
    const seen = (await res.body.json()) as { method: string; body: string; headers: Record<string, string> };
    assert.equal(seen.method, 'POST');
    assert.equal(seen.body, 'hello upstream');
    assert.equal(seen.headers['content-length'], '14');
    assert.equal((await result).bytesIn, 14);
  });

  test('chunked request body (no Content-Length) is streamed', async () => {
    const { front } = await chain(echo);
    async function* slowly(): AsyncGenerator<string> {
      for (const part of ['a', 'b', 'c']) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        yield part;
      }
    }
    const res = await request(`${front.url}/chunked`, { method: 'PUT', body: Readable.from(slowly()) });
    const seen = (await res.body.json()) as { body: string; headers: Record<string, string> };
    assert.equal(seen.body, 'abc');
    assert.equal(seen.headers['transfer-encoding'], 'chunked');
  });

  test('response hop-by-hop headers (and those the upstream Connection names) are dropped; status and multi-value headers kept', async () => {
    const { front } = await chain((_req, res) => {
      res.writeHead(201, 'Made It', [
        ['connection', 'x-upstream-private'], ['x-upstream-private', 'secret'], ['proxy-authenticate', 'Basic'],
        ['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['x-kept', 'yes'],
      ].flat());
      res.end('made');
    });
    const res = await request(`${front.url}/x`);
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers['x-upstream-private'], undefined);
    assert.equal(res.headers['proxy-authenticate'], undefined);
    assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(res.headers['x-kept'], 'yes');
    assert.equal(await res.body.text(), 'made');
  });

  test('HEAD, 204 and 304 get no body', async () => {
    const { front } = await chain((req, res) => {
      const status = req.url === '/204' ? 204 : req.url === '/304' ? 304 : 200;
      res.writeHead(status, status === 200 ? { 'content-length': '5' } : {});
      res.end(req.method === 'HEAD' || status !== 200 ? undefined : 'hello');
    });
    const head = await request(`${front.url}/`, { method: 'HEAD' });
    assert.equal(head.statusCode, 200);
    assert.equal(head.headers['content-length'], '5');
    assert.equal(await head.body.text(), '');
    for (const status of [204, 304]) {
      const res = await request(`${front.url}/${status}`);
      assert.equal(res.statusCode, status);
      assert.equal(await res.body.text(), '');
    }
  });
});

describe('http upstream: failures', () => {
  test('closed port → 502 upstream_unreachable, nothing written by the upstream module', async () => {
    const port = refusingPort();
    const url = `http://127.0.0.1:${port}`;
    const front = await startFront(url);
    opened.push(front);
    const result = front.nextResult();
    const res = await request(`${front.url}/`);
    assert.equal(res.statusCode, 502);
    assert.equal(((await res.body.json()) as { code: string }).code, 'upstream_unreachable');
    const r = await result;
    assert.equal(r.responded, false);
    assert.equal(r.error?.code, 'upstream_unreachable');
    assert.doesNotMatch(r.error!.detail, /127\.0\.0\.1/);
  });

  test('upstream that never sends headers → 504 upstream_timeout after headersTimeout', async () => {
    const { front } = await chain(() => undefined, { cfg: { headersTimeout: '300ms' } });
    const result = front.nextResult();
    const started = Date.now();
    const res = await request(`${front.url}/slow`);
    assert.equal(res.statusCode, 504);
    assert.equal(((await res.body.json()) as { code: string }).code, 'upstream_timeout');
    assert.ok(Date.now() - started < 5000);
    assert.equal((await result).error?.code, 'upstream_timeout');
  });

  test('upstream that stalls mid-body → upstream_error and the client sees a truncated transfer', async () => {
    const { front } = await chain((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
    }, { cfg: { bodyTimeout: '300ms' } });
    const result = front.nextResult();
    const res = await request(`${front.url}/stall`);
    assert.equal(res.statusCode, 200);
    await assert.rejects(res.body.text());
    const r = await result;
    assert.equal(r.responded, true);
    assert.equal(r.status, 200);
    assert.equal(r.error?.code, 'upstream_error');
    assert.equal(r.bytesOut, 'partial'.length);
  });

  test('chunked upstream that resets mid-body → client sees an error, not a clean short body', async () => {
    const { front } = await chain((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('some');
      setTimeout(() => res.socket?.destroy(), 50);
    });
    const result = front.nextResult();
    const res = await request(`${front.url}/reset`);
    await assert.rejects(res.body.text());
    assert.equal((await result).error?.code, 'upstream_error');
  });

  test('upstream that resets mid-upload → 502 upstream_error, and the gateway keeps running', async () => {
    const { front } = await chain((req, res) => {
      let received = 0;
      req.on('data', (c: Buffer) => {
        received += c.length;
        if (received > 256 * 1024) req.socket.destroy();
      });
      req.on('end', () => res.end('ok'));
    });
    const result = front.nextResult();
    // The client is still sending when the front answers and closes, so it may see EPIPE instead.
    await request(`${front.url}/up`, { method: 'POST', body: generated(16 * 1024 * 1024) }).catch(() => undefined);
    const r = await result;
    assert.equal(r.responded, false);
    assert.equal(r.error?.code, 'upstream_error');
    assert.equal(await (await request(`${front.url}/still-alive`)).body.text(), 'ok');
  });
});
