import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/limits/redis-store.js';
import { StoreUnavailableError, type LimitCheck, type RateSpec } from '../../src/limits/store.js';
import { runStoreContract } from './store-contract.js';
import { REDIS_URL, redisAvailable } from './redis-env.js';

const available = await redisAvailable();
const prefix = `gatehouse-test-${randomBytes(4).toString('hex')}:`;
const slow: RateSpec = { kind: 'rate', id: 'layout', count: 1, periodMs: 60_000, burst: 5 };

runStoreContract('redis', () => new RedisStore({ url: REDIS_URL, prefix }), available);

/** A TCP relay in front of Redis that counts client writes and can hold them (a stalled server). */
interface Relay { port: number; writes: number; hold: boolean; close(): Promise<void> }

async function startRelay(target: URL): Promise<Relay> {
  const sockets = new Set<Socket>();
  const relay: Relay = { port: 0, writes: 0, hold: false, close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }) };
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    const held: Buffer[] = [];
    sockets.add(client).add(upstream);
    const release = (): void => { if (!relay.hold) while (held.length) upstream.write(held.shift()!); };
    client.on('data', (chunk: Buffer) => {
      relay.writes++;
      held.push(chunk); // in order: held bytes always go first
      release();
    });
    const flush = setInterval(release, 10).unref();
    upstream.pipe(client);
    const end = (): void => { clearInterval(flush); client.destroy(); upstream.destroy(); };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  relay.port = (server.address() as AddressInfo).port;
  return relay;
}

describe('RedisStore on a real Redis', { skip: !available }, () => {
  let admin: Redis;
  let store: RedisStore;
  before(async () => {
    admin = new Redis(REDIS_URL);
    store = new RedisStore({ url: REDIS_URL, prefix });
    await store.check([{ spec: slow, key: 'warm-up' }]);
  });
  after(async () => {
    await store.close();
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
    admin.disconnect();
  });

  it('keys are Cluster-safe: one hash tag per caller, braces escaped, long keys hashed', async () => {
    const id = 'route{a}:lim';
    await store.check([
      { spec: { ...slow, id }, key: 'client:{x}' },
      { spec: { kind: 'quota', id, count: 5, window: { kind: 'fixed', ms: 60_000 } }, key: 'client:{x}' },
      { spec: { ...slow, id }, key: 'k'.repeat(5000) },
    ]);
    const tag = `${prefix}{route%7Ba%7D%3Alim:client:%7Bx%7D}`;
    assert.deepEqual((await admin.keys(`${tag}:*`)).sort(), [`${tag}:q`, `${tag}:r`]);
    const hashed = await admin.keys(`${prefix}{route%7Ba%7D%3Alim:%H*`);
    assert.equal(hashed.length, 1);
    assert.match(hashed[0]!, new RegExp(`^${prefix}\\{route%7Ba%7D%3Alim:%H[0-9a-f]{64}\\}:r$`));
    const rateTtl = await admin.pttl(`${tag}:r`);
    assert.ok(rateTtl > 0 && rateTtl <= 60_000, `a rate key expires when its bucket is full again (${rateTtl})`);
    const quotaTtl = await admin.pttl(`${tag}:q`);
    assert.ok(quotaTtl > 0 && quotaTtl <= 61_000, `a quota key expires after its window (${quotaTtl})`);
  });

  it('one round trip per check() call, however many checks', async () => {
    const relay = await startRelay(new URL(REDIS_URL));
    const viaRelay = new RedisStore({ url: `redis://127.0.0.1:${relay.port}`, prefix });
    try {
      const checks: LimitCheck[] = [
        { spec: { ...slow, id: 'rt-a' }, key: 'k' },
        { spec: { kind: 'quota', id: 'rt-b', count: 100, window: { kind: 'month' } }, key: 'k' },
        { spec: { ...slow, id: 'rt-c' }, key: 'k' },
      ];
      await viaRelay.check(checks); // the connection handshake and first EVALs
      relay.writes = 0;
      for (let i = 0; i < 5; i++) assert.equal((await viaRelay.check(checks)).length, 3);
      assert.equal(relay.writes, 5);
    } finally {
      await viaRelay.close();
      await relay.close();
    }
  });

  it('concurrent calls of one event-loop turn share one write; each gets its own results', async () => {
    const relay = await startRelay(new URL(REDIS_URL));
    const viaRelay = new RedisStore({ url: `redis://127.0.0.1:${relay.port}`, prefix });
    try {
      const burst: RateSpec = { ...slow, id: 'batch', burst: 10 };
      await viaRelay.check([{ spec: { ...slow, id: 'batch-warm' }, key: 'k' }]); // handshake and script load
      relay.writes = 0;
      // 30 requests of one caller against a burst of 10, plus calls with two checks mixed in.
      const calls = Array.from({ length: 30 }, (_, i) => viaRelay.check(i % 5 === 0
        ? [{ spec: burst, key: 'one-caller' }, { spec: { ...slow, id: 'batch-other' }, key: `c${i}` }]
        : [{ spec: burst, key: 'one-caller' }]));
      const results = await Promise.all(calls);
      assert.equal(relay.writes, 1, 'one write for the whole turn');
      assert.equal(results.filter((r) => r[0]!.allowed).length, 10, 'exactly the burst is allowed');
      results.forEach((r, i) => assert.equal(r.length, i % 5 === 0 ? 2 : 1));
      assert.ok(results.filter((_, i) => i % 5 === 0).every((r) => r[1]!.allowed && r[1]!.remaining === 4), 'the second check of a call is its own');
    } finally {
      await viaRelay.close();
      await relay.close();
    }
  });

  it('leases: tokens taken N at a time and spent locally; overlapping leases never give more than the bucket', async () => {
    const relay = await startRelay(new URL(REDIS_URL));
    const a = new RedisStore({ url: `redis://127.0.0.1:${relay.port}`, prefix, leaseTokens: 5 });
    const b = new RedisStore({ url: REDIS_URL, prefix, leaseTokens: 5 });
    try {
      await a.check([{ spec: { ...slow, id: 'lease-warm' }, key: 'k' }]);
      relay.writes = 0;
      // A bucket of 50 that refills once a minute, shared by two gateway processes.
      const bucket: RateSpec = { kind: 'rate', id: 'lease-burst', count: 1, periodMs: 60_000, burst: 50 };
      const one = [{ spec: bucket, key: 'caller' }];
      let allowed = 0;
      for (let i = 0; i < 30; i++) {
        if ((await a.check(one))[0]!.allowed) allowed++;
        if ((await b.check(one))[0]!.allowed) allowed++;
      }
      assert.equal(allowed, 50, 'the two processes together get exactly the bucket');
      // a: 5 leases of 5 (5 writes) served its first 25, then Redis refused its last 5 (5 writes).
      assert.equal(relay.writes, 10);
      // A small burst is never leased (at most a tenth of it): every check asks Redis.
      relay.writes = 0;
      const small = [{ spec: { kind: 'rate' as const, id: 'lease-small', count: 1, periodMs: 60_000, burst: 9 }, key: 'caller' }];
      for (let i = 0; i < 3; i++) await a.check(small);
      assert.equal(relay.writes, 3);
      // Quotas are never leased: every check asks Redis.
      relay.writes = 0;
      const quota = [{ spec: { kind: 'quota' as const, id: 'lease-quota', count: 100, window: { kind: 'fixed' as const, ms: 60_000 } }, key: 'caller' }];
      for (let i = 0; i < 3; i++) await a.check(quota);
      assert.equal(relay.writes, 3);
    } finally {
      await a.close();
      await b.close();
      await relay.close();
    }
  });

  it('leases: unspent tokens expire', async () => {
    const relay = await startRelay(new URL(REDIS_URL));
    const leased = new RedisStore({ url: `redis://127.0.0.1:${relay.port}`, prefix, leaseTokens: 4, leaseMs: 200 });
    try {
      const fast: RateSpec = { kind: 'rate', id: 'lease-expiry', count: 100, periodMs: 1000, burst: 100 };
      const one = [{ spec: fast, key: 'caller' }];
      await leased.check(one);
      relay.writes = 0;
      for (let i = 0; i < 3; i++) assert.equal((await leased.check(one))[0]!.allowed, true);
      assert.equal(relay.writes, 0, 'three requests from the lease');
      await leased.check(one);
      assert.equal(relay.writes, 1, 'the lease is spent: Redis again');
      await new Promise((r) => setTimeout(r, 260));
      relay.writes = 0;
      await leased.check(one);
      assert.equal(relay.writes, 1, 'an expired lease is not used');
    } finally {
      await leased.close();
      await relay.close();
    }
  });

  it('a stalled Redis times out as StoreUnavailableError, then serves again', async () => {
    const relay = await startRelay(new URL(REDIS_URL));
    const viaRelay = new RedisStore({ url: `redis://127.0.0.1:${relay.port}`, prefix, timeoutMs: 100 });
    try {
      await viaRelay.check([{ spec: slow, key: 'stall' }]);
      relay.hold = true;
      const hang = new Promise((_, reject) => setTimeout(() => reject(new Error('check() hung')), 5000).unref());
      await assert.rejects(Promise.race([viaRelay.check([{ spec: slow, key: 'stall' }]), hang]), StoreUnavailableError);
      relay.hold = false;
      let ok = false;
      for (let i = 0; i < 50 && !ok; i++) ok = await viaRelay.check([{ spec: slow, key: 'stall' }]).then(() => true, () => false);
      assert.ok(ok, 'serves again once Redis answers');
    } finally {
      await viaRelay.close();
      await relay.close();
    }
  });

  it('an unreachable Redis: down reported once, checks reject, and the password never shows', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const events: [string, string | undefined][] = [];
    const dead = new RedisStore({ url: `redis://user:s3cr3t-pw@127.0.0.1:${port}`, prefix, onStateChange: (s, e) => events.push([s, e?.message]) });
    try {
      for (let i = 0; i < 20; i++) {
        await assert.rejects(dead.check([{ spec: slow, key: 'k' }]), (err: unknown) => {
          assert.ok(err instanceof StoreUnavailableError);
          assert.equal(err.code, 'limiter_unavailable');
          assert.ok(!err.message.includes('s3cr3t'), err.message);
          return true;
        });
      }
      assert.equal(dead.connected, false);
      assert.deepEqual(events.map(([s]) => s), ['down']);
      assert.ok(!String(events[0]![1]).includes('s3cr3t'));
    } finally {
      await dead.close();
    }
  });
});
