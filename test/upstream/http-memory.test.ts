import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { closeAll, generated, startChain, type Handler } from './helpers.js';

// Its own file (own process) so that other suites' allocations do not blur the RSS measurement.
const TOTAL = 200 * 1024 * 1024;
const MAX_GROWTH = 100 * 1024 * 1024;
const MIB = 1024 * 1024;
const PAUSE_PER_MIB_MS = 8;

const opened: { close(): Promise<void> }[] = [];
after(() => closeAll(opened));

/** Run `work` while sampling RSS; return the peak growth over the starting RSS. */
async function rssGrowth(work: () => Promise<void>): Promise<number> {
  const start = process.memoryUsage().rss;
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage().rss) - start;
}

/**
 * A sink that counts bytes, keeps none, and is slower than the sender (a pause per MiB), so that a
 * proxy ignoring backpressure would pile the difference up in memory.
 */
function slowCounter(): { sink: Writable; bytes: () => number } {
  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      const before = bytes;
      bytes += chunk.length;
      if (Math.floor(bytes / MIB) !== Math.floor(before / MIB)) setTimeout(cb, PAUSE_PER_MIB_MS);
      else cb();
    },
  });
  return { sink, bytes: () => bytes };
}

describe('streaming with flat memory', () => {
  test('200 MiB upload through the proxy', async (t) => {
    const count: Handler = (req, res) => {
      const { sink, bytes } = slowCounter();
      void pipeline(req, sink).then(() => res.end(String(bytes())));
    };
    const { front } = await startChain(count, { maxBodyBytes: TOTAL }, opened);
    const result = front.nextResult();
    let answer = '';
    const growth = await rssGrowth(async () => {
      const res = await request(`${front.url}/up`, { method: 'POST', body: generated(TOTAL) });
      answer = await res.body.text();
    });
    assert.equal(answer, String(TOTAL));
    assert.equal((await result).bytesIn, TOTAL);
    t.diagnostic(`RSS growth ${(growth / MIB).toFixed(1)} MiB`);
    assert.ok(growth < MAX_GROWTH, `RSS grew by ${(growth / MIB).toFixed(1)} MiB`);
  });

  test('200 MiB download through the proxy', async (t) => {
    const serve: Handler = (_req, res) => {
      res.writeHead(200, { 'content-length': String(TOTAL) });
      generated(TOTAL).pipe(res);
    };
    const { front } = await startChain(serve, {}, opened);
    const result = front.nextResult();
    const { sink, bytes } = slowCounter();
    const growth = await rssGrowth(async () => {
      const res = await request(`${front.url}/down`);
      await pipeline(res.body, sink);
    });
    assert.equal(bytes(), TOTAL);
    assert.equal((await result).bytesOut, TOTAL);
    t.diagnostic(`RSS growth ${(growth / MIB).toFixed(1)} MiB`);
    assert.ok(growth < MAX_GROWTH, `RSS grew by ${(growth / MIB).toFixed(1)} MiB`);
  });
});
