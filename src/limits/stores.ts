/** The limit stores of one runtime: the configured one, and the local fallback used when it is down. */
import type { Config } from '../config/schema.js';
import { parseDuration } from '../config/units.js';
import type { LimitStores } from './limiter.js';
import { MemoryStore } from './memory-store.js';
import { storeChanged } from './store.js';

/** Build the stores; `connect: false` (explain, validate) builds the in-process one only. */
export async function buildStores(config: Config, connect: boolean): Promise<LimitStores> {
  const settings = config.limits!;
  const fallback = new MemoryStore({ maxKeys: settings.maxKeys });
  if (settings.store !== 'redis' || !connect) return { primary: fallback, fallback };
  const redis = settings.redis!;
  // Loaded only when configured: the Redis client costs ~8 MB of memory in every process otherwise.
  const { RedisStore } = await import('./redis-store.js');
  const primary = new RedisStore({
    ...(redis.cluster ? { nodes: redis.cluster.nodes } : { url: redis.url! }), prefix: redis.prefix, timeoutMs: parseDuration(redis.timeout), leaseTokens: redis.leaseTokens,
    onStateChange(state, err, first) {
      if (storeChanged.hasSubscribers) storeChanged.publish({ store: redis.cluster ? 'redis-cluster' : 'redis', state, first, error: err?.message, fail: settings.fail });
    },
  });
  return { primary, fallback };
}
