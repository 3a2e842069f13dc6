import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { Redis } from 'ioredis';
import { spawnCli } from '../harness/run-cli.js';
import { startGateway, writeConfig } from '../harness/gateway.js';
import { startUpstream } from '../harness/upstream.js';
import { rawRequest } from '../harness/http.js';
import { hammer } from '../harness/load.js';
import { startRedis } from '../harness/redis.js';
import { REDIS_URL, redisAvailable } from '../limits/redis-env.js';

const available = await redisAvailable();

test('three gateway processes sharing one Redis enforce one global limit (±5% of 600 over 10 s)', { skip: !available }, async () => {
  const upstream = await startUpstream((_req, res) => res.writeHead(200).end('ok'));
  const prefix = `gatehouse-test-${randomBytes(4).toString('hex')}:`;
  const file = writeConfig(JSON.stringify({
    listen: { port: 0, host: '127.0.0.1' }, admin: { port: 0 }, audit: { sink: 'off' },
    limits: { store: 'redis', redis: { url: REDIS_URL, prefix } },
    routes: [{ name: 'shared', match: { path: '/*' }, public: true, limits: [{ name: 'global', key: ['route'], rate: '50/s', burst: 100 }], upstream: { url: upstream.url } }],
  }));
  const ready = /"port":(\d+),"admin":(\d+)[^\n]*gatehouse listening/;
  const gateways = await Promise.all([0, 1, 2].map(() => spawnCli(['start', '-c', file], ready)));
  try {
    const counts = await Promise.all(gateways.map((g) => hammer(`http://127.0.0.1:${g.match[1]}`, '/x', {}, 10_000, 4)));
    const accepted = counts.reduce((sum, c) => sum + (c.get(200) ?? 0), 0);
    const refused = counts.reduce((sum, c) => sum + (c.get(429) ?? 0), 0);
    const elapsed = Math.max(...counts.map((c) => c.elapsedMs!)) / 1000;
    const expected = 100 + 50 * elapsed;
    assert.ok(Math.abs(accepted - expected) <= expected * 0.05, `accepted ${accepted}, refused ${refused} (want ${expected.toFixed(0)} ± 5% across the fleet)`);
    for (const c of counts) assert.ok((c.get(200) ?? 0) > 0, 'every replica served some');
  } finally {
    for (const g of gateways) g.child.kill('SIGTERM');
    await Promise.all(gateways.map((g) => g.exited));
    await upstream.close();
  }
});

test('Redis stopped mid-test: fail closed → 503, fail open → local limiter; restarted → shared limiting resumes, no gateway restart', { skip: !available }, async () => {
  const redis = await startRedis();
  const upstream = await startUpstream((_req, res) => res.writeHead(200).end('ok'));
  const lines: string[] = [];
  const log = pino({ level: 'info' }, new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } }));
  const gw = await startGateway({
    // The default user has `nopass`, so any password is accepted: it is here to prove it never leaks.
    limits: { store: 'redis', redis: { url: redis.url.replace('redis://', 'redis://default:s3cret-pw@'), timeout: '200ms' }, fail: 'closed' },
    routes: [
      { name: 'closed', match: { path: '/closed/*' }, public: true, limits: [{ name: 'c', key: ['ip'], rate: '1000/s', burst: 1000 }], upstream: { url: upstream.url } },
      { name: 'open', match: { path: '/open/*' }, public: true, limits: [{ name: 'o', key: ['ip'], rate: '1/m', burst: 5, fail: 'open' }], upstream: { url: upstream.url } },
    ],
  }, { log });
  try {
    assert.equal((await rawRequest(gw.url, 'GET', '/closed/x')).status, 200);
    assert.equal((await rawRequest(gw.url, 'GET', '/open/x')).status, 200, 'open: 1 of its 5 used in Redis');
    await redis.stop();

    for (let i = 0; i < 20; i++) {
      const r = await rawRequest(gw.url, 'GET', '/closed/x');
      assert.equal(r.status, 503);
      assert.equal(r.json().code, 'limiter_unavailable');
    }
    // Fail open: the local limiter applies the same limit (5 burst) on its own count.
    const open: number[] = [];
    for (let i = 0; i < 7; i++) open.push((await rawRequest(gw.url, 'GET', '/open/x')).status);
    assert.deepEqual(open, [200, 200, 200, 200, 200, 429, 429]);
    const down = lines.filter((l) => l.includes('rate-limit store unavailable'));
    assert.equal(down.length, 1, 'logged once per outage, not per request');
    assert.ok(!lines.some((l) => l.includes('s3cret-pw')), 'no secrets in the log');

    await redis.restart();
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = (await rawRequest(gw.url, 'GET', '/closed/x')).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(status, 200, 'the gateway reconnected by itself');
    assert.ok(lines.some((l) => l.includes('rate-limit store available again')));
    // Shared limiting resumed: the restarted (empty) Redis holds the open route's budget again.
    assert.equal((await rawRequest(gw.url, 'GET', '/open/x')).status, 200);
    const client = new Redis(redis.url);
    const keys = await client.keys('gatehouse:*route%3Aopen*');
    client.disconnect();
    assert.equal(keys.length, 1, `the open route's limit state is in Redis again (${keys.join(', ')})`);
  } finally {
    await gw.stop();
    await upstream.close();
    await redis.stop();
  }
});

test('leaseTokens: a gateway spends leased tokens locally and still gives a caller exactly its bucket', { skip: !available }, async () => {
  const upstream = await startUpstream((_req, res) => res.writeHead(200).end('ok'));
  const prefix = `gatehouse-test-${randomBytes(4).toString('hex')}:`;
  const gw = await startGateway({
    limits: { store: 'redis', redis: { url: REDIS_URL, prefix, leaseTokens: 5 } },
    routes: [{ name: 'leased', match: { path: '/*' }, public: true, limits: [{ name: 'l', key: ['ip'], rate: '1/m', burst: 50 }], upstream: { url: upstream.url } }],
  });
  const admin = new Redis(REDIS_URL);
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) statuses.push((await rawRequest(gw.url, 'GET', '/x')).status);
    assert.equal(statuses.filter((s) => s === 200).length, 50);
    assert.equal(statuses.filter((s) => s === 429).length, 10);
    assert.ok(statuses.slice(0, 50).every((s) => s === 200), 'the first 50 pass, then refusals');
    // The bucket in Redis is empty: the leases were taken from it, not beside it.
    const keys = await admin.keys(`${prefix}*:r`);
    assert.equal(keys.length, 1);
  } finally {
    await gw.stop();
    await upstream.close();
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
    admin.disconnect();
  }
});
