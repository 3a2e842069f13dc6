import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { Readable } from 'node:stream';
import { spawnCli } from '../harness/run-cli.js';
import { startUpstream } from '../harness/upstream.js';
import { startGateway, writeConfig } from '../harness/gateway.js';
import { rawRequest } from '../harness/http.js';

const MiB = 1024 * 1024;

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/** A stream of `total` bytes made from one reused chunk (nothing large is allocated). */
function zeros(total: number): Readable {
  const chunk = Buffer.alloc(256 * 1024, 0x61);
  let left = total;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, chunk.length);
      left -= n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

test('1 GiB download and 512 MiB upload stream through the gateway with flat memory', async () => {
  const upstream = await startUpstream((req, res, seen) => {
    if (req.method === 'GET' && req.url === '/big') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(1024 * MiB) });
      zeros(1024 * MiB).pipe(res);
      return;
    }
    req.on('data', (c: Buffer) => { seen.bodyBytes += c.length; });
    req.on('end', () => res.writeHead(200).end(String(seen.bodyBytes)));
  });
  const file = writeConfig(JSON.stringify({
    listen: { port: 0, host: '127.0.0.1', maxBodySize: '1gb', requestTimeout: '120s' },
    admin: { port: 0 }, audit: { sink: 'off' },
    routes: [{ name: 'blob', match: { path: '/*' }, public: true, upstream: { url: upstream.url } }],
  }));
  // A small old generation: the gateway then collects garbage promptly on every Node line (Node 24
  // lets ~100 MiB of already-dropped buffers wait for a GC that Node 20 runs sooner), so RSS shows
  // what the gateway holds (a held body is Buffer memory outside the heap: it would still show).
  const gw = await spawnCli(['start', '-c', file], /"port":(\d+),"admin":(\d+)[^\n]*gatehouse listening/, { NODE_OPTIONS: '--max-old-space-size=64' });
  const pid = gw.child.pid!;
  try {
    const base = `http://127.0.0.1:${gw.match[1]}`;
    await rawRequest(base, 'POST', '/warmup', {}, 'x');
    const idle = rssOf(pid);
    let peak = idle;
    const sampler = setInterval(() => { peak = Math.max(peak, rssOf(pid)); }, 50);

    const downloaded = await new Promise<number>((resolve, reject) => {
      http.get(`${base}/big`, (res) => {
        let n = 0;
        res.on('data', (c: Buffer) => { n += c.length; });
        res.on('end', () => resolve(n));
        res.on('error', reject);
      }).on('error', reject);
    });
    assert.equal(downloaded, 1024 * MiB);

    const uploaded = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${base}/upload`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'content-length': String(512 * MiB) } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      zeros(512 * MiB).pipe(req);
    });
    assert.equal(uploaded, String(512 * MiB));
    clearInterval(sampler);
    const growth = peak - idle;
    // Bounded memory: the gateway holds a few buffers in flight, never the body.
    assert.ok(growth < 64 * MiB, `gateway RSS grew by ${(growth / MiB).toFixed(1)} MiB (idle ${(idle / MiB).toFixed(1)} MiB)`);
  } finally {
    gw.child.kill('SIGTERM');
    await gw.exited;
    await upstream.close();
  }
});

test('upstream down → 502 upstream_unreachable; upstream slow → 504 upstream_timeout', async () => {
  // Port 1 (tcpmux) has no listener: a just-closed ephemeral port could be taken by a parallel test.
  const deadUrl = 'http://127.0.0.1:1';
  const slow = await startUpstream((_req, res) => { setTimeout(() => res.writeHead(200).end('late'), 3000).unref(); });
  const gw = await startGateway({
    routes: [
      { name: 'dead', match: { path: '/dead/*' }, public: true, upstream: { url: deadUrl } },
      { name: 'slow', match: { path: '/slow/*' }, public: true, upstream: { url: slow.url, headersTimeout: '300ms' } },
    ],
  });
  try {
    const dead = await rawRequest(gw.url, 'GET', '/dead/x');
    assert.equal(dead.status, 502);
    assert.equal(dead.json().code, 'upstream_unreachable');
    assert.equal(dead.headers['content-type'], 'application/problem+json');
    const late = await rawRequest(gw.url, 'GET', '/slow/x');
    assert.equal(late.status, 504);
    assert.equal(late.json().code, 'upstream_timeout');
    const lines = await gw.audit(2);
    assert.deepEqual(lines.map((l) => [l.route, l.status, l.error]), [['dead', 502, 'upstream_unreachable'], ['slow', 504, 'upstream_timeout']]);
  } finally {
    await gw.stop();
    await slow.close();
  }
});

test('request body over the route limit → 413 body_too_large', async () => {
  const upstream = await startUpstream();
  const gw = await startGateway({
    routes: [{ name: 'small', match: { path: '/*' }, public: true, maxBodySize: '1kb', upstream: { url: upstream.url } }],
  });
  try {
    const res = await rawRequest(gw.url, 'POST', '/x', { 'content-type': 'text/plain' }, Buffer.alloc(4096, 1));
    assert.equal(res.status, 413);
    assert.equal(res.json().code, 'body_too_large');
  } finally {
    await gw.stop();
    await upstream.close();
  }
});
