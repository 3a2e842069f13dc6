/**
 * Back-channel revocations shared through Redis: each is written as a key living as long as a
 * session can (so a process started later loads it) and published, so every running process adds
 * it to its in-memory set at once. Requests are still answered from memory: no Redis round trip.
 */
import { Redis } from 'ioredis';
import { Revocations, type Revocation, type RevocationStore } from './revocations.js';

export interface RedisRevocationOptions {
  readonly url: string;
  readonly prefix: string;
  readonly provider: string;
  readonly lifetimeSec: number;
}

const options = { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: true, retryStrategy: (n: number) => Math.min(n * 200, 2000) };

/** A revocation store over Redis for provider `provider`. */
export function redisRevocations(opts: RedisRevocationOptions): RevocationStore {
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

  return {
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
}
