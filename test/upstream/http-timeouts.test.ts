// The upstream's headersTimeout and bodyTimeout where they depend on what the transfer is doing: a
// streamed upload, a 1xx, a body that keeps coming, a slow client, several targets. (The plain cases,
// no head at all and a body that stalls, are in http.test.ts.)
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { closeAll, generated, startChain, startFront, startServer, type ChainOptions, type Handler } from './helpers.js';

const opened: { close(): Promise<void> }[] = [];
after(() => closeAll(opened));
const chain = (handler: Handler, opts?: ChainOptions) => startChain(handler, opts, opened);

/** A body that arrives in `parts` pieces `gapMs` apart. */
function trickle(parts: number, gapMs: number): Readable {
  return Readable.from((async function* () {
    for (let i = 0; i < parts; i++) {
      await sleep(gapMs);
      yield Buffer.from('x');
    }
  })());
}

describe('upstream headersTimeout', () => {
  test('does not run out while a streamed upload still flows to the upstream: it counts from the upload\'s end', async () => {
    // The upload takes ~1.6 s, four times the timeout; the upstream answers as soon as it has all of it.
    const { front } = await chain((req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => { n += c.length; });
      req.on('end', () => res.end(`got ${n}`));
    }, { cfg: { headersTimeout: '400ms' } });
    const result = front.nextResult();
    const res = await request(`${front.url}/upload`, { method: 'POST', body: trickle(8, 200) });
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'got 8');
    assert.equal((await result).error, undefined);
  });

  test('runs out when the upstream stops reading an upload and never answers → 504 upstream_timeout', async () => {
    const { front } = await chain((req) => { req.pause(); }, { cfg: { headersTimeout: '300ms' }, maxBodyBytes: 512 * 1024 * 1024 });
    const result = front.nextResult();
    const res = request(`${front.url}/upload`, { method: 'POST', body: generated(256 * 1024 * 1024) })
      .then(async (r) => ({ status: r.statusCode, code: ((await r.body.json()) as { code: string }).code }))
      .catch(() => undefined);
    const r = await result;
    assert.equal(r.error?.code, 'upstream_timeout');
    assert.equal(r.status, 504);
    assert.equal(r.responded, false);
    const client = await res;
    // The client may see the 504, or its upload cut as the gateway stops reading it.
    if (client !== undefined) assert.deepEqual(client, { status: 504, code: 'upstream_timeout' });
  });

  test('a 1xx starts the wait for the final head again', async () => {
    const { front } = await chain((_req, res) => {
      setTimeout(() => res.writeEarlyHints({ link: '</a.css>; rel=preload' }), 700);
      setTimeout(() => res.end('late but announced'), 1400);
    }, { cfg: { headersTimeout: '1s' } });
    const result = front.nextResult();
    const res = await request(`${front.url}/hints`);
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'late but announced');
    assert.equal((await result).error, undefined);
  });

  test('an upstream with several targets: no head in time → 504 upstream_timeout, not retried', async () => {
    let hits = 0;
    const silent = await startServer(() => { hits++; });
    opened.push(silent);
    const front = await startFront(silent.url, { targets: [silent.url], headersTimeout: '300ms', retry: { attempts: 2, budget: 1, minPerSecond: 10, backoff: '1ms', maxBackoff: '1ms' } });
    opened.push(front);
    const result = front.nextResult();
    const res = await request(`${front.url}/x`);
    assert.equal(res.statusCode, 504);
    assert.equal(((await res.body.json()) as { code: string }).code, 'upstream_timeout');
    assert.equal((await result).error?.code, 'upstream_timeout');
    assert.equal(hits, 1);
  });
});

describe('upstream bodyTimeout', () => {
  test('counts the silence between chunks, not the whole body: a slow steady body arrives whole', async () => {
    const { front } = await chain((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let i = 0;
      const next = (): void => {
        if (++i > 8) return void res.end();
        res.write(`${i}`);
        setTimeout(next, 200);
      };
      next();
    }, { cfg: { bodyTimeout: '600ms' } });
    const result = front.nextResult();
    const res = await request(`${front.url}/steady`);
    assert.equal(await res.body.text(), '12345678');
    assert.equal((await result).error, undefined);
  });

  test('does not run out while the client is the slow side (the upstream is paused for it)', async () => {
    const total = 64 * 1024 * 1024;
    const { front } = await chain((_req, res) => {
      res.writeHead(200, { 'content-length': String(total) });
      generated(total).pipe(res);
    }, { cfg: { bodyTimeout: '300ms' } });
    const result = front.nextResult();
    const res = await request(`${front.url}/big`);
    // Read nothing for six times the timeout: the gateway's buffers fill and it pauses the upstream.
    await sleep(1800);
    let bytes = 0;
    for await (const chunk of res.body) bytes += (chunk as Buffer).length;
    assert.equal(bytes, total);
    const r = await result;
    assert.equal(r.error, undefined);
    assert.equal(r.bytesOut, total);
  });
});
