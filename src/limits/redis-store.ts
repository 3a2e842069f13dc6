/**
 * Limit state in Redis or a Redis Cluster, shared by a fleet of gateways. One round trip per event-loop
 * turn (per node, on a cluster); each check is one Lua script on one key, timed by the server's clock.
 * Fails fast with StoreUnavailableError while Redis (or the cluster node owning a key) is unreachable
 * and reconnects by itself forever.
 */
import { Cluster } from 'ioredis';
import { emissionInterval } from './gcra.js';
import { clientReady, closeClient, createLimitClient, keySlot, secretsOf, slotOwner, type LimitClient, type RedisTarget } from './redis-client.js';
import { LeaseBook } from './redis-leases.js';
import { QUOTA_LUA, RATE_LUA } from './redis-scripts.js';
import { redisTag } from './storage-key.js';
import { StoreUnavailableError, type LimitSpec, type LimitCheck, type LimitResult, type LimitStore } from './store.js';

export interface RedisStoreOptions extends RedisTarget {
  /** Prepended to every key (default `gatehouse:`). */
  prefix?: string;
  /** Per-check timeout in ms (default 250); a slow Redis counts as unavailable. */
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
type Replies = [Error | null, unknown][];

/** The burst (rate) or the quota count: what a result's `limit` reports. */
const limitOf = (spec: LimitSpec): number => (spec.kind === 'rate' ? spec.burst : spec.count);

/** A client or pipeline with the two scripts defined by `defineCommand` (EVALSHA, falling back to EVAL). */
interface LimitCommands {
  gatehouseRate(key: string, intervalMs: string, burst: number, want: number): unknown;
  gatehouseQuota(key: string, limit: number, windowMs: number): unknown;
}
interface LimitPipeline extends LimitCommands {
  exec(): Promise<Replies | null>;
}

/** Cluster: after a failed check, the store reports `up` again only once checks succeeded for this long. */
const RECOVERED_AFTER_MS = 1000;

/** A check() call waiting for the next batch; settled once, when all its checks have answers (or one failed). */
interface Pending {
  readonly checks: readonly LimitCheck[];
  readonly resolve: (results: LimitResult[]) => void;
  readonly reject: (err: unknown) => void;
  readonly results: LimitResult[];
  left: number;
  done: boolean;
}

/** One check of a pending call, with its Redis key. */
interface Item {
  readonly call: Pending;
  readonly index: number;
  readonly key: string;
}

/** Redis-backed LimitStore; see the module comment. */
export class RedisStore implements LimitStore {
  readonly kind = 'redis' as const;
  readonly #client: LimitClient;
  readonly #cluster: Cluster | undefined;
  readonly #prefix: string;
  readonly #secrets: string[];
  readonly #onStateChange: RedisStoreOptions['onStateChange'];
  readonly #timeoutMs: number;
  readonly #leases: LeaseBook;
  /** check() calls waiting for the next batch (sent at the end of this event-loop turn). */
  #pending: Pending[] = [];
  #state: 'up' | 'down' | undefined;
  #lastFailure = 0;
  #closing = false;
  /** Settles on the first `up` or `down`: the first checks after start wait for it (bounded). */
  readonly #started: Promise<void>;
  #markStarted!: () => void;

  constructor(opts: RedisStoreOptions) {
    this.#prefix = opts.prefix ?? 'gatehouse:';
    this.#timeoutMs = opts.timeoutMs ?? 250;
    this.#leases = new LeaseBook(opts.leaseTokens, opts.leaseMs);
    this.#onStateChange = opts.onStateChange;
    this.#secrets = secretsOf(opts);
    this.#started = new Promise((resolve) => { this.#markStarted = resolve; });
    this.#client = createLimitClient(opts, this.#timeoutMs);
    this.#cluster = this.#client instanceof Cluster ? this.#client : undefined;
    this.#client.defineCommand('gatehouseRate', { numberOfKeys: 1, lua: RATE_LUA });
    this.#client.defineCommand('gatehouseQuota', { numberOfKeys: 1, lua: QUOTA_LUA });
    this.#client.on('ready', () => this.#recovered());
    this.#client.on('error', (err: unknown) => this.#failed(err));
    this.#client.on('close', () => this.#failed(new Error('connection closed')));
    // A cluster stays `ready` while one master is down: the checks on its slots fail meanwhile.
    this.#cluster?.on('node error', (err: unknown, node: unknown) => this.#failed(new Error(`node ${String(node)}: ${err instanceof Error ? err.message : String(err)}`)));
  }

  /** True while commands can be sent (a cluster: while its slot map is known, even with one master failing over). */
  get connected(): boolean {
    return clientReady(this.#client);
  }

  /**
   * Counts one request against every check; see LimitStore. Calls made while the event loop
   * handles one batch of sockets are sent together, in one pipeline (one write, one round trip)
   * per server, when that batch is done (setImmediate). ioredis's own auto-pipelining flushes on
   * the next tick, i.e. after every single request's callback: batches of one, each paying for a Pipeline.
   */
  async check(checks: readonly LimitCheck[]): Promise<LimitResult[]> {
    if (checks.length === 0) return [];
    if (this.#leases.enabled) {
      const local = this.#leases.take(checks);
      if (local !== undefined) return local;
    }
    if (!this.connected) await this.#awaitStart();
    return new Promise((resolve, reject) => {
      if (this.#pending.length === 0) setImmediate(this.#flush);
      this.#pending.push({ checks, resolve, reject, results: new Array<LimitResult>(checks.length), left: checks.length, done: false });
    });
  }

  #flush = (): void => {
    const batch = this.#pending;
    this.#pending = [];
    for (const group of this.#groups(batch)) {
      // A cluster retries redirections and CLUSTERDOWN/TRYAGAIN by itself, each after a delay: bound the wait.
      const timer = this.#cluster === undefined ? undefined : setTimeout(() => this.#fail(group, new Error(`timeout after ${this.#timeoutMs} ms`)), this.#timeoutMs);
      this.#send(group).then((replies) => {
        clearTimeout(timer);
        this.#deliver(group, replies);
      }, (err: unknown) => {
        clearTimeout(timer);
        this.#fail(group, err);
      });
    }
  };

  /** One group per server that will answer (a cluster: per owner of the keys' slots), in batch order. */
  #groups(batch: readonly Pending[]): Item[][] {
    const items: Item[] = [];
    for (const call of batch) call.checks.forEach((check, index) => items.push({ call, index, key: this.#keyOf(check) }));
    if (this.#cluster === undefined) return [items];
    const byOwner = new Map<string, Item[]>();
    for (const item of items) {
      const slot = keySlot(item.key);
      // Before the slot map is known, one group per slot (ioredis waits for the map, then sends each).
      const owner = slotOwner(this.#cluster, slot) ?? `slot ${slot}`;
      const group = byOwner.get(owner);
      if (group === undefined) byOwner.set(owner, [item]);
      else group.push(item);
    }
    return [...byOwner.values()];
  }

  /** One check: one plain command (the quiet case); more: one pipeline. */
  async #send(group: readonly Item[]): Promise<Replies> {
    if (group.length === 1) return [[null, await this.#issue(this.#client as unknown as LimitCommands, group[0]!)]];
    const pipeline = this.#client.pipeline() as unknown as LimitPipeline;
    for (const item of group) void this.#issue(pipeline, item);
    const replies = await pipeline.exec();
    if (replies === null) throw new Error('no reply');
    // ioredis drops a script's EVAL fallback when it retries a cluster pipeline (after CLUSTERDOWN,
    // TRYAGAIN or MOVED): a NOSCRIPT reply then is ours to resend, once, as a plain command.
    await Promise.all(replies.map(async ([err], i) => {
      if (err === null || !err.message.startsWith('NOSCRIPT')) return;
      replies[i] = await this.#issue(this.#client as unknown as LimitCommands, group[i]!).then((r): [null, unknown] => [null, r], (e: Error): [Error, null] => [e, null]);
    }));
    return replies;
  }

  #deliver(group: readonly Item[], replies: Replies): void {
    let failure: unknown;
    group.forEach((item, i) => {
      const { call } = item;
      if (call.done) return;
      try {
        call.results[item.index] = this.#parse(replies[i], call.checks[item.index]!);
      } catch (err) {
        failure = err;
        call.done = true;
        call.reject(err);
        return;
      }
      if (--call.left === 0) {
        call.done = true;
        call.resolve(call.results);
      }
    });
    // One server: its connection events tell the state. A cluster stays ready while one master fails over.
    if (this.#cluster === undefined) return;
    if (failure === undefined) this.#recovered();
    else this.#failed(failure);
  }

  #fail(group: readonly Item[], err: unknown): void {
    const unavailable = this.#unavailable(err);
    for (const { call } of group) {
      if (call.done) continue;
      call.done = true;
      call.reject(unavailable);
    }
    if (this.#cluster !== undefined) this.#failed(unavailable);
  }

  #keyOf({ spec, key }: LimitCheck): string {
    return `${this.#prefix}${redisTag(spec.id, key)}${spec.kind === 'rate' ? ':r' : ':q'}`;
  }

  /** Queue the check's script on a pipeline, or send it on the client. */
  #issue(target: LimitCommands, { call, index, key }: Item): Promise<unknown> {
    const { spec } = call.checks[index]!;
    return (spec.kind === 'rate'
      ? target.gatehouseRate(key, String(emissionInterval(spec)), spec.burst, this.#leases.want(spec.burst))
      : target.gatehouseQuota(key, spec.count, spec.window.kind === 'fixed' ? spec.window.ms : 0)) as Promise<unknown>;
  }

  /** Disconnects for good (no reconnect); in-flight checks reject. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#leases.clear();
    this.#markStarted();
    await closeClient(this.#client, 2000);
  }

  #parse(entry: [Error | null, unknown] | undefined, check: LimitCheck): LimitResult {
    if (entry === undefined || entry[0]) throw this.#unavailable(entry?.[0] ?? new Error('no reply'));
    const r = entry[1] as Reply;
    const limit = limitOf(check.spec);
    // Tokens taken beyond this request's one are kept for the next requests of the same key.
    if (r[0] === 1 && r[4] !== undefined && r[4] > 1 && check.spec.kind === 'rate') this.#leases.keep(check, r[4], r[1], r[2], limit);
    return { allowed: r[0] === 1, limit, remaining: r[1], resetMs: r[2], retryAfterMs: r[3] };
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

  #failed(err: unknown): void {
    this.#lastFailure = performance.now();
    this.#report('down', err);
  }

  /** Ready (event) or answered (checks): up, except on a cluster whose last failure is too recent. */
  #recovered(): void {
    if (this.#state === 'up') return;
    if (this.#cluster !== undefined && this.#state === 'down' && performance.now() - this.#lastFailure < RECOVERED_AFTER_MS) return;
    if (this.connected) this.#report('up');
  }

  #report(state: 'up' | 'down', err?: unknown): void {
    this.#markStarted();
    if (this.#state === state || this.#closing) return;
    const first = this.#state === undefined;
    this.#state = state;
    this.#onStateChange?.(state, err === undefined ? undefined : this.#unavailable(err), first);
  }

  /** A StoreUnavailableError whose message cannot carry a password (ioredis errors may hold AUTH args). */
  #unavailable(err: unknown): StoreUnavailableError {
    if (err instanceof StoreUnavailableError) return err;
    let message = err instanceof Error ? err.message : String(err);
    for (const secret of this.#secrets) message = message.split(secret).join('***');
    return new StoreUnavailableError(`redis unavailable: ${message}`);
  }
}
