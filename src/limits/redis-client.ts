/**
 * The ioredis client of the Redis limit store: one server (`Redis`) or a Redis Cluster (`Cluster`,
 * which follows MOVED/ASK, re-reads the slot map and reconnects to promoted replicas by itself).
 * Both fail fast: no offline queue, no replay of commands in flight when a connection drops.
 */
import { createRequire } from 'node:module';
import { Cluster, Redis, type ClusterNode } from 'ioredis';

export type LimitClient = Redis | Cluster;

/** Where the store's Redis is: one URL, or the seed nodes of a cluster. */
export interface RedisTarget {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS. */
  readonly url?: string;
  /** Redis Cluster seed nodes (`redis://[user:password@]host:port`, `rediss://` for TLS); wins over `url`. */
  readonly nodes?: readonly string[];
}

const MAX_BACKOFF_MS = 2000;
const backoff = (attempt: number): number => Math.min(attempt * 100, MAX_BACKOFF_MS);

/** The Redis Cluster hash slot of a key (the package ioredis itself uses; it ships no types). */
export const keySlot = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;

/** Build the client; it connects at once and reconnects forever (with back-off) until closed. */
export function createLimitClient(target: RedisTarget, timeoutMs: number): LimitClient {
  const common = {
    // 0: commands in flight when the connection drops fail at once instead of being replayed.
    maxRetriesPerRequest: 0,
    commandTimeout: timeoutMs,
    // Batching is the store's (one pipeline per event-loop turn and node).
    enableAutoPipelining: false,
  };
  if (target.nodes !== undefined && target.nodes.length > 0) {
    const urls = target.nodes.map((n) => new URL(n));
    const auth = urls.find((u) => u.username !== '' || u.password !== '');
    return new Cluster(urls.map((u): ClusterNode => ({ host: u.hostname, port: Number(u.port) })), {
      enableOfflineQueue: false,
      clusterRetryStrategy: backoff,
      // A slot map read that hangs counts as failed: the next attempt asks another node.
      slotsRefreshTimeout: Math.max(timeoutMs, 1000),
      redisOptions: {
        ...common,
        ...(auth ? { username: decodeURIComponent(auth.username), password: decodeURIComponent(auth.password) } : {}),
        ...(urls[0]!.protocol === 'rediss:' ? { tls: {} } : {}),
      },
    });
  }
  return new Redis(target.url!, { ...common, lazyConnect: false, enableOfflineQueue: false, retryStrategy: backoff });
}

/** True while commands can be sent (the socket of a single server is writable; a cluster is ready). */
export function clientReady(client: LimitClient): boolean {
  // A dead peer ends the socket a few ticks before ioredis leaves `ready`.
  if (client instanceof Redis) return client.status === 'ready' && client.stream?.writable === true;
  return client.status === 'ready';
}

/** The master (and replicas) serving `slot`, as the client last learnt them; undefined before the slot map is read. */
export function slotOwner(client: Cluster, slot: number): string | undefined {
  return client.slots[slot]?.join(';');
}

/** Disconnect for good; resolves when the client ended (at most `waitMs` for a cluster whose nodes are gone). */
export async function closeClient(client: LimitClient, waitMs: number): Promise<void> {
  const status = client.status;
  if (status === 'end') return;
  // Between reconnect attempts there is no socket, so ioredis never emits `end`: nothing to wait for.
  let timer: NodeJS.Timeout | undefined;
  const ended = status === 'reconnecting' ? undefined : Promise.race([
    new Promise<void>((resolve) => client.once('end', () => resolve())),
    new Promise<void>((resolve) => { timer = setTimeout(resolve, waitMs); }),
  ]);
  client.disconnect();
  await ended;
  clearTimeout(timer);
}

/** The passwords in the target's URLs (masked out of error messages). */
export function secretsOf(target: RedisTarget): string[] {
  const out: string[] = [];
  for (const url of [target.url, ...(target.nodes ?? [])]) {
    if (url === undefined) continue;
    try {
      const pw = decodeURIComponent(new URL(url).password);
      if (pw) out.push(pw);
    } catch {
      // not a URL: ioredis will say so, and it holds no password we could find
    }
  }
  return out;
}
