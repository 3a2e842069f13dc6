// The operational log tells the truth (issue 10, item 7): it follows `log.level`, and a shared store
// that connects at start says so, rather than "available again".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { startGateway } from '../harness/gateway.js';
import { startRedis } from '../harness/redis.js';
import { startUpstream } from '../harness/upstream.js';
import { rawRequest } from '../harness/http.js';
import { redisServerAvailable } from '../limits/redis-env.js';

/** A pino logger at `info` whose lines land in `lines`. */
function memoryLog(): { log: pino.Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => { lines.push(JSON.parse(line) as { level: number; msg: string }); } });
  return { log, lines };
}

test('log.level: error keeps info and warn lines out of the operational log', async () => {
  const upstream = await startUpstream();
  const { log, lines } = memoryLog();
  const gw = await startGateway({ log: { level: 'error' }, routes: [{ name: 'r', match: { path: '/*' }, public: true, upstream: { url: upstream.url } }] }, { log });
  try {
    assert.equal((await rawRequest(gw.url, 'GET', '/x')).status, 200);
    await gw.gateway.reload();
    assert.deepEqual(lines.filter((l) => l.level < 50).map((l) => l.msg), [], 'no line below error');
  } finally {
    await gw.stop();
    await upstream.close();
  }
  // The same gateway at info says it listens: the filter above is the level, not silence.
  const again = memoryLog();
  const gw2 = await startGateway({ routes: [{ name: 'r', match: { path: '/*' }, public: true, upstream: { url: 'http://127.0.0.1:1' } }] }, { log: again.log });
  await gw2.stop();
  assert.ok(again.lines.some((l) => l.msg === 'gatehouse listening'));
});

test('a Redis store reports "connected" at start, then "unavailable" and "available again"', { skip: !redisServerAvailable() }, async () => {
  const redis = await startRedis();
  const upstream = await startUpstream();
  const { log, lines } = memoryLog();
  const gw = await startGateway({
    limits: { store: 'redis', redis: { url: redis.url }, fail: 'open' },
    routes: [{ name: 'r', match: { path: '/*' }, public: true, limits: [{ name: 'all', rate: '1000/s', key: ['ip'] }], upstream: { url: upstream.url } }],
  }, { log });
  const messages = (): string[] => lines.map((l) => l.msg).filter((m) => m.startsWith('rate-limit store'));
  try {
    for (let i = 0; i < 50 && messages().length === 0; i++) await sleep(50);
    assert.equal((await rawRequest(gw.url, 'GET', '/x')).status, 200);
    assert.deepEqual(messages(), ['rate-limit store connected']);
    await redis.stop();
    await rawRequest(gw.url, 'GET', '/x');
    for (let i = 0; i < 50 && messages().length < 2; i++) await sleep(50);
    await redis.restart();
    for (let i = 0; i < 150 && messages().length < 3; i++) {
      await rawRequest(gw.url, 'GET', '/x');
      await sleep(100);
    }
    assert.deepEqual(messages(), ['rate-limit store connected', 'rate-limit store unavailable', 'rate-limit store available again']);
  } finally {
    await gw.stop();
    await upstream.close();
    await redis.stop();
  }
});

test('key-file and introspection failures reach the log, without a secret', async () => {
  const upstream = await startUpstream();
  const { log, lines } = memoryLog();
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'gh-oplog-'));
  writeFileSync(join(dir, 'keys.yaml'), 'keys: [ { id: "abc", name: "x", hash: "hunter2-not-a-hash" } ]\n');
  writeFileSync(join(dir, 'aws.yaml'), 'AKIDEXAMPLE: { secret: "wJalrXUtnFEMI-secret" , role: nope }\n');
  const gw = await startGateway({
    providers: {
      partners: { type: 'api-key', keys: join(dir, 'keys.yaml') },
      aws: { type: 'sigv4', service: 'execute-api', region: 'eu-west-1', credentials: join(dir, 'aws.yaml') },
      opaque: { type: 'introspection', endpoint: 'http://127.0.0.1:1/introspect', clientId: 'gw', clientSecret: 'cs-secret-value' },
    },
    routes: [{ name: 'r', match: { path: '/*' }, authenticate: ['opaque', 'partners', 'aws'], upstream: { url: upstream.url } }],
  }, { log });
  try {
    const res = await rawRequest(gw.url, 'GET', '/x', { authorization: 'Bearer opaque-token-value' });
    assert.equal(res.status, 503);
    assert.equal(res.json().code, 'introspection_failed');
    const warned = lines.filter((l) => l.level === 40);
    const text = JSON.stringify(warned);
    assert.ok(warned.some((l) => l.msg === 'token introspection could not decide' && (l as { provider?: string }).provider === 'opaque'), text);
    assert.ok(warned.some((l) => l.msg === 'key file not loaded; its keys are refused' && (l as { provider?: string }).provider === 'partners'), text);
    assert.ok(warned.some((l) => l.msg === 'key file not loaded; its keys are refused' && (l as { provider?: string }).provider === 'aws'), text);
    for (const secret of ['hunter2', 'wJalrXUtnFEMI', 'cs-secret-value', 'opaque-token-value']) assert.ok(!text.includes(secret), `${secret} not logged`);
  } finally {
    await gw.stop();
    await upstream.close();
  }
});
