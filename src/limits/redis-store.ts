/**
 * Limit state in Redis, shared by a fleet of gateways. One pipeline (one round trip) per event-loop turn;
 * each check is one Lua script on one key, timed by the server's clock. Fails fast with
 * StoreUnavailableError while Redis is unreachable and reconnects by itself forever.
 */
import { Redis } from 'ioredis';
import { emissionInterval } from './gcra.js';
import { QUOTA_LUA, RATE_LUA } from './redis-scripts.js';
import { redisTag } from './storage-key.js';
import { StoreUnavailableError, type LimitSpec, type LimitCheck, type LimitResult, type LimitStore } from './store.js';

export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS. */
  url: string;
  /** Prepended to every key (default `gatehouse:`). */
  prefix?: string;
  /** Per-command timeout in ms (default 250); a slow Redis counts as unavailable. */
  timeoutMs?: number;
  /** Called once per transition: `down` on the first failure of an outage, `up` when ready again. */
  /** `first`: the first state known (connected, or failed to connect, at start). */
  onStateChange?: (state: 'up' | 'down', err: Error | undefined, first: boolean) => void;
  /**
   * Rate-limit tokens taken from Redis at once per key (default 1: every request asks Redis). With
   * N > 1 a process spends them locally for up to `leaseMs`: Redis work per request drops by up to
   * N, and in any window a caller can get at most N − 1 requests per process beyond what the limit
   * allows (the tokens it holds). A lease is at most a tenth of the burst, so slow limits stay
   * exact; unspent tokens expire (stricter). Quotas always ask Redis.
   */
  leaseTokens?: number;
  /** How long leased tokens may be spent (default 1000 ms). */
  leaseMs?: number;
}

type Reply = [allowed: number, remaining: number, resetMs: number, retryAfterMs: number, granted?: number];

/** Rate tokens this worker holds for one key: taken from Redis, spent here. */
interface Lease {
  left: number;
  /** performance.now() after which the unspent tokens are dropped. */
  until: number;
  /** Redis's `remaining` when the tokens were taken (the fleet's, without this lease). */
  remaining: number;
  /** performance.now() at which the bucket is full again, as Redis said. */
  fullAt: number;
  readonly limit: number;
}

/** Leased tokens not spent within this (ms) are dropped. */
const LEASE_MS = 1000;
/** Most keys with a lease kept per store; the oldest are dropped beyond it (their tokens are lost: stricter). */
const MAX_LEASES = 10_000;

/** The burst (rate) or the quota count: what a result's `limit` reports. */
const limitOf = (spec: LimitSpec): number => (spec.kind === 'rate' ? spec.burst : spec.count);

/** The pipeline with the two scripts defined by `defineCommand` (EVALSHA, falling back to EVAL). */
interface LimitPipeline {
  gatehouseRate(key: string, intervalMs: string, burst: number, want: number): unknown;
  gatehouseQuota(key: string, limit: number, windowMs: number): unknown;
  exec(): Promise<[Error | null, unknown][] | null>;
}

const MAX_BACKOFF_MS = 2000;

/** A check() call waiting for the next batch. */
interface Pending {
  readonly checks: readonly LimitCheck[];
  readonly resolve: (results: LimitResult[]) => void;
  readonly reject: (err: unknown) => void;
}

/** Redis-backed LimitStore; see the module comment. */
export class RedisStore implements LimitStore {
  readonly kind = 'redis' as const;
  readonly #client: Redis;
  readonly #prefix: string;
  readonly #secret: string;
  readonly #onStateChange: RedisStoreOptions['onStateChange'];
  readonly #timeoutMs: number;
  readonly #leaseTokens: number;
  readonly #leaseMs: number;
  readonly #leases = new Map<string, Lease>();
  /** check() calls waiting for the next batch (sent at the end of this event-loop turn). */
  #pending: Pending[] = [];
  #state: 'up' | 'down' | undefined;
  #closing = false;
  /** Settles on the first `up` or `down`: the first checks after start wait for it (bounded). */
  readonly #started: Promise<void>;
  #markStarted!: () => void;

  constructor(opts: RedisStoreOptions) {
    this.#prefix = opts.prefix ?? 'gatehouse:';
    this.#timeoutMs = opts.timeoutMs ?? 250;
    this.#leaseTokens = Math.max(1, Math.floor(opts.leaseTokens ?? 1));
    this.#leaseMs = opts.leaseMs ?? LEASE_MS;
    this.#onStateChange = opts.onStateChange;
    this.#secret = passwordOf(opts.url);
    this.#started = new Promise((resolve) => { this.#markStarted = resolve; });
    this.#client = new Redis(opts.url, {
      lazyConnect: false,
      enableOfflineQueue: false,
      // 0: commands in flight when the connection drops fail at once instead of being replayed.
      maxRetriesPerRequest: 0,
      commandTimeout: this.#timeoutMs,
      retryStrategy: (attempt) => Math.min(attempt * 100, MAX_BACKOFF_MS),
      // Batching is ours (see check()): it groups every request of one event-loop turn.
      enableAutoPipelining: false,
    });
    this.#client.defineCommand('gatehouseRate', { numberOfKeys: 1, lua: RATE_LUA });
    this.#client.defineCommand('gatehouseQuota', { numberOfKeys: 1, lua: QUOTA_LUA });
    this.#client.on('ready', () => this.#report('up'));
    this.#client.on('error', (err: unknown) => this.#report('down', err));
    this.#client.on('close', () => this.#report('down', new Error('connection closed')));
  }

  /** True while the connection is ready for commands. */
  get connected(): boolean {
    // A dead peer ends the socket a few ticks before ioredis leaves `ready`.
    return this.#client.status === 'ready' && this.#client.stream?.writable === true;
  }

  /**
   * Counts one request against every check; see LimitStore. Calls made while the event loop
   * handles one batch of sockets are sent together, in one pipeline (one write, one round trip),
   * when that batch is done (setImmediate). ioredis's own auto-pipelining flushes on the next tick,
   * i.e. after every single request's callback: batches of one, each paying for a Pipeline.
   */
  async check(checks: readonly LimitCheck[]): Promise<LimitResult[]> {
    if (checks.length === 0) return [];
    if (this.#leaseTokens > 1) {
      const local = this.#fromLeases(checks);
      if (local !== undefined) return local;
    }
    if (!this.connected) await this.#awaitStart();
    return new Promise((resolve, reject) => {
      if (this.#pending.length === 0) setImmediate(this.#flush);
      this.#pending.push({ checks, resolve, reject });
    });
  }

  #flush = (): void => {
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 1 && batch[0]!.checks.length === 1) {
      // The quiet case: one plain command, no pipeline.
      const [call] = batch as [Pending];
      const check = call.checks[0]!;
      (this.#issue(this.#client as unknown as LimitPipeline, check) as Promise<unknown>).then(
        (reply) => this.#settle(call, () => [this.#parse([null, reply], check)]),
        (err: unknown) => call.reject(this.#unavailable(err)),
      );
      return;
    }
    const pipeline = this.#client.pipeline() as unknown as LimitPipeline;
    for (const call of batch) for (const check of call.checks) this.#issue(pipeline, check);
    pipeline.exec().then((replies) => {
      let at = 0;
      for (const call of batch) {
        const first = at;
        at += call.checks.length;
        this.#settle(call, () => call.checks.map((c, i) => this.#parse(replies?.[first + i], c)));
      }
    }, (err: unknown) => {
      const unavailable = this.#unavailable(err);
      for (const call of batch) call.reject(unavailable);
    });
  };

  #settle(call: Pending, results: () => LimitResult[]): void {
    try {
      call.resolve(results());
    } catch (err) {
      call.reject(err);
    }
  }

  /** Queue the check's script on a pipeline, or send it on the client. */
  #issue(target: LimitPipeline, { spec, key }: LimitCheck): unknown {
    const tag = this.#prefix + redisTag(spec.id, key);
    return spec.kind === 'rate'
      ? target.gatehouseRate(`${tag}:r`, String(emissionInterval(spec)), spec.burst, this.#want(spec.burst))
      : target.gatehouseQuota(`${tag}:q`, spec.count, spec.window.kind === 'fixed' ? spec.window.ms : 0);
  }

  /** Disconnects for good (no reconnect); in-flight checks reject. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#leases.clear();
    this.#markStarted();
    const status = this.#client.status;
    if (status === 'end') return;
    // Between reconnect attempts there is no socket, so ioredis never emits `end`: nothing to wait for.
    const ended = status === 'reconnecting' ? undefined : new Promise<void>((resolve) => this.#client.once('end', () => resolve()));
    this.#client.disconnect();
    await ended;
  }

  #parse(entry: [Error | null, unknown] | undefined, check: LimitCheck): LimitResult {
    if (entry === undefined || entry[0]) throw this.#unavailable(entry?.[0] ?? new Error('no reply'));
    const r = entry[1] as Reply;
    const limit = limitOf(check.spec);
    // Tokens taken beyond this request's one are kept for the next requests of the same key.
    if (r[0] === 1 && r[4] !== undefined && r[4] > 1 && check.spec.kind === 'rate') this.#keepLease(check, r, limit);
    return { allowed: r[0] === 1, limit, remaining: r[1], resetMs: r[2], retryAfterMs: r[3] };
  }

  #keepLease({ spec, key }: LimitCheck, r: Reply, limit: number): void {
    const id = `${spec.id}\0${key}`;
    const now = performance.now();
    const extra = r[4]! - 1;
    const held = this.#leases.get(id);
    // Grants that overlap (concurrent requests of one key) add up: no token Redis counted is lost.
    const left = held !== undefined && now < held.until ? held.left + extra : extra;
    this.#leases.delete(id);
    if (this.#leases.size >= MAX_LEASES) this.#leases.delete(this.#leases.keys().next().value!);
    this.#leases.set(id, { left, until: now + this.#leaseMs, remaining: r[1], fullAt: now + r[2], limit });
  }

  /** Tokens to ask for: the configured lease, but never more than a tenth of the burst. */
  #want(burst: number): number {
    return this.#leaseTokens === 1 ? 1 : Math.max(1, Math.min(this.#leaseTokens, Math.floor(burst / 10)));
  }

  /** Every check answered from a live lease (one token each), or undefined: then Redis decides them all. */
  #fromLeases(checks: readonly LimitCheck[]): LimitResult[] | undefined {
    const now = performance.now();
    const leases: Lease[] = [];
    for (const { spec, key } of checks) {
      if (spec.kind !== 'rate') return undefined;
      const lease = this.#leases.get(`${spec.id}\0${key}`);
      if (lease === undefined || lease.left < 1 || now >= lease.until) return undefined;
      leases.push(lease);
    }
    return leases.map((lease) => {
      lease.left--;
      return { allowed: true, limit: lease.limit, remaining: lease.remaining + lease.left, resetMs: Math.max(0, Math.ceil(lease.fullAt - now)), retryAfterMs: 0 };
    });
  }

  /** Right after start the connection may still be opening; wait for it at most one timeout. */
  async #awaitStart(): Promise<void> {
    if (this.#state === undefined && !this.#closing) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => { timer = setTimeout(resolve, this.#timeoutMs); });
      await Promise.race([this.#started, timeout]);
      clearTimeout(timer);
    }
    if (!this.connected) throw new StoreUnavailableError(`redis unavailable: not connected (${this.#client.status})`);
  }

  #report(state: 'up' | 'down', err?: unknown): void {
    this.#markStarted();
    if (this.#state === state || this.#closing) return;
    const first = this.#state === undefined;
    this.#state = state;
    this.#onStateChange?.(state, err === undefined ? undefined : this.#unavailable(err), first);
  }

  /** A StoreUnavailableError whose message cannot carry the password (ioredis errors may hold AUTH args). */
  #unavailable(err: unknown): StoreUnavailableError {
    if (err instanceof StoreUnavailableError) return err;
    let message = err instanceof Error ? err.message : String(err);
    if (this.#secret) message = message.split(this.#secret).join('***');
    return new StoreUnavailableError(`redis unavailable: ${message}`);
  }
}

function passwordOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}
