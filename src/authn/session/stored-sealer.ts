/**
 * Sessions kept in Redis (`login.redis.store: true`): the session is sealed exactly as for a cookie
 * (a JWE under the key list, so Redis holds only ciphertext), stored under a random 256-bit handle
 * for the session's absolute lifetime, and the cookie carries the handle alone — one small cookie
 * whatever the session holds (an Entra user in hundreds of groups, long refresh tokens). Deleting
 * the key ends the session everywhere at once (server-side revocation: logout does).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { GatehouseError } from '../../errors.js';
import type { Sealer } from './seal.js';

/** What a cookie holding a handle starts with (a sealed session, a JWE, never does). */
const HANDLE = 'r.';
const HANDLE_FORM = /^r\.[A-Za-z0-9_-]{43}$/;

export function storedSealer(inner: Sealer, opts: { url: string; prefix: string; provider: string; lifetimeSec: number }): Sealer {
  const client = new Redis(opts.url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: true, retryStrategy: (n: number) => Math.min(n * 200, 2000) });
  client.on('error', () => undefined);
  const key = (handle: string): string => `${opts.prefix}session:${opts.provider}:${handle}`;
  // Fail closed: a session that cannot be stored or looked up is not one (503, never an open door).
  const unavailable = (err: unknown): never => { throw new GatehouseError('session_store_unavailable', `the session store cannot be reached (${(err as Error).name})`); };
  return {
    async seal(payload) {
      const jwe = await inner.seal(payload);
      const handle = randomBytes(32).toString('base64url');
      await client.set(key(handle), jwe, 'EX', Math.max(1, Math.ceil(opts.lifetimeSec))).catch(unavailable);
      return HANDLE + handle;
    },
    async open(value) {
      if (!HANDLE_FORM.test(value)) return undefined;
      const jwe = await client.get(key(value.slice(HANDLE.length))).catch(unavailable);
      return jwe === null ? undefined : inner.open(jwe);
    },
    async forget(value) {
      if (HANDLE_FORM.test(value)) await client.del(key(value.slice(HANDLE.length))).catch(unavailable);
    },
    close() { client.disconnect(); },
  };
}
