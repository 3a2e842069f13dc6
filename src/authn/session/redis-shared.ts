/**
 * What sessions share through Redis across processes and replicas. Back-channel revocations: each
 * is written as a key living as long as a session can (so a process started later loads it) and
 * published, so every running process adds it to its in-memory set at once; requests are still
 * answered from memory. Refreshes: one process per session generation holds a lock and refreshes,
 * the others wait for the sealed outcome it stores (so a rotating refresh token is spent once).
 */
import { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { Revocations, type RefreshCoordinator, type RefreshOutcome, type Revocation, type RevocationStore } from './revocations.js';

/** How long a refresh may hold the lock, and how long its outcome answers the other processes. */
const LOCK_MS = 15_000;
const RESULT_MS = 60_000;
const POLL_MS = 50;

export interface RedisRevocationOptions {
  readonly url: string;
  readonly prefix: string;
  readonly provider: string;
  readonly lifetimeSec: number;
}

const options = { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: true, retryStrategy: (n: number) => Math.min(n * 200, 2000) };

/** Revocations and refresh coordination over Redis for provider `provider`. */
export function redisShared(opts: RedisRevocationOptions): { revocations: RevocationStore; refreshes: RefreshCoordinator } {
  const held = new Revocations(opts.lifetimeSec);
  const base = `${opts.prefix}session-revoked:${opts.provider}`;
  const client = new Redis(opts.url, options);
  const subscriber = new Redis(opts.url, options);
  // Errors surface as failed revoke() calls; the connection retries on its own.
  client.on('error', () => undefined);
  subscriber.on('error', () => undefined);
  const parse = (text: string): Revocation | undefined => {
    try {
      const v = JSON.parse(text) as Revocation;
      return typeof v === 'object' && v !== null ? v : undefined;
    } catch {
      return undefined;
    }
  };
  subscriber.on('message', (_channel: string, text: string) => {
    const r = parse(text);
    if (r !== undefined) held.revoke(r);
  });

  async function load(): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${base}:*`, 'COUNT', 500);
      cursor = next;
      const values = keys.length > 0 ? await client.mget(...keys) : [];
      for (const v of values) {
        const r = v === null ? undefined : parse(v);
        if (r !== undefined) held.revoke(r);
      }
    } while (cursor !== '0');
  }

  const refreshBase = `${opts.prefix}session-refresh:${opts.provider}`;
  /** One process refreshes (the lock holder); the others wait for its outcome. Redis down: refresh here. */
  async function once(key: string, run: () => Promise<RefreshOutcome>): Promise<RefreshOutcome> {
    const lock = `${refreshBase}:lock:${key}`;
    const result = `${refreshBase}:result:${key}`;
    let got: string | null;
    try {
      const done = await client.get(result);
      if (done !== null) return done;
      got = await client.set(lock, '1', 'PX', LOCK_MS, 'NX');
    } catch {
      return run();
    }
    if (got === 'OK') {
      const outcome = await run();
      // An unreachable provider is not remembered: the next request tries again.
      if (outcome !== 'provider_unavailable') await client.set(result, outcome, 'PX', RESULT_MS).catch(() => undefined);
      await client.del(lock).catch(() => undefined);
      return outcome;
    }
    for (const deadline = Date.now() + LOCK_MS; Date.now() < deadline;) {
      await sleep(POLL_MS);
      const [done, held] = await Promise.all([client.get(result), client.exists(lock)]).catch(() => [null, 0] as const);
      if (done !== null) return done;
      if (held === 0) break;
    }
    return 'provider_unavailable';
  }

  const revocations: RevocationStore = {
    revoked: (s) => held.revoked(s),
    async revoke(by) {
      const r: Revocation = by.sid !== undefined ? { sid: by.sid } : { sub: by.sub, at: by.at ?? Math.floor(Date.now() / 1000) };
      held.revoke(r);
      const text = JSON.stringify(r);
      const key = `${base}:${r.sid !== undefined ? `sid:${r.sid}` : `sub:${r.sub}`}`;
      await client.multi().set(key, text, 'EX', Math.ceil(opts.lifetimeSec)).publish(base, text).exec();
    },
    async start() {
      await Promise.all([client.connect(), subscriber.connect()]);
      await subscriber.subscribe(base);
      await load();
    },
    close() {
      client.disconnect();
      subscriber.disconnect();
    },
  };
  return { revocations, refreshes: { once } };
}
