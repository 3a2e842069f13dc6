/**
 * Limit state in this process: one Map, bounded in size. Used alone for single-instance gateways
 * and as the local fallback when Redis is down and a limit fails open.
 */
import { emissionInterval, gcraDecide, gcraNextTat } from './gcra.js';
import { quotaDecide, windowEnd, windowStart } from './quota.js';
import { boundedKey } from './storage-key.js';
import type { LimitCheck, LimitResult, LimitStore, QuotaSpec, RateSpec } from './store.js';

export interface MemoryStoreOptions {
  /** Hard cap on stored keys (default 100 000); the oldest-inserted go first when full. */
  maxKeys?: number;
  /** Clock in ms, for tests. */
  now?: () => number;
  /** How often the background sweep of expired entries starts (default 10 s); for tests. */
  sweepEveryMs?: number;
}

/** Quota state: [window end, requests counted]. Mutated in place so a busy key allocates nothing. */
type QuotaEntry = [end: number, used: number];
/** Rate state is the bare TAT; both kinds expire once their number (TAT, window end) is <= now. */
type Entry = number | QuotaEntry;

const DEFAULT_MAX_KEYS = 100_000;
const DEFAULT_SWEEP_EVERY_MS = 10_000;
/** Entries looked at per sweep slice; slices yield to the event loop so a sweep never stalls requests. */
const SWEEP_SLICE = 5_000;

const expiresAt = (e: Entry): number => (typeof e === 'number' ? e : e[0]);

/**
 * In-process LimitStore. Memory stays bounded under a flood of distinct keys: idle entries expire
 * (lazily and by an incremental background sweep) and past `maxKeys` the oldest-inserted entry is
 * evicted. An evicted key starts again with a fresh budget: that is the price of a hard bound, and
 * only matters when more than `maxKeys` callers are active within one refill period.
 */
export class MemoryStore implements LimitStore {
  readonly kind = 'memory' as const;
  readonly #entries = new Map<string, Entry>();
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;
  // Iterators are kept between calls: V8 Map iterators survive deletes and rehashes, and a fresh
  // iterator per eviction would rescan the deleted holes at the front of the table (quadratic).
  #evictCursor: Iterator<string> | undefined;
  #sweepCursor: Iterator<[string, Entry]> | undefined;
  #closed = false;

  constructor(opts: MemoryStoreOptions = {}) {
    this.#maxKeys = Math.max(1, opts.maxKeys ?? DEFAULT_MAX_KEYS);
    this.#now = opts.now ?? Date.now;
    this.#timer = setInterval(() => this.#startSweep(), opts.sweepEveryMs ?? DEFAULT_SWEEP_EVERY_MS).unref();
  }

  /** Number of stored keys (never above `maxKeys`). */
  get size(): number {
    return this.#entries.size;
  }

  /** Counts one request against every check; synchronous inside. */
  check(checks: readonly LimitCheck[]): Promise<LimitResult[]> {
    const now = this.#now();
    const results: LimitResult[] = [];
    for (let i = 0; i < checks.length; i++) {
      const { spec, key } = checks[i]!;
      results.push(spec.kind === 'rate' ? this.#rate(spec, key, now) : this.#quota(spec, key, now));
    }
    return Promise.resolve(results);
  }

  /** Stops the background sweep and drops all state. */
  close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#entries.clear();
    this.#evictCursor = undefined;
    this.#sweepCursor = undefined;
    return Promise.resolve();
  }

  #rate(spec: RateSpec, key: string, now: number): LimitResult {
    const k = `r${spec.id}\u0000${boundedKey(key)}`;
    const stored = this.#entries.get(k) as number | undefined;
    const interval = emissionInterval(spec);
    const next = gcraNextTat(stored, now, interval);
    const result = gcraDecide(next, now, interval, spec.burst);
    if (!result.allowed) return result;
    if (stored !== undefined && stored > now) this.#entries.set(k, next);
    else this.#insert(k, next, stored !== undefined);
    return result;
  }

  #quota(spec: QuotaSpec, key: string, now: number): LimitResult {
    const k = `q${spec.id}\u0000${boundedKey(key)}`;
    const entry = this.#entries.get(k) as QuotaEntry | undefined;
    const current = entry !== undefined && entry[0] > now;
    const end = current ? entry[0] : windowEnd(spec.window, windowStart(spec.window, now));
    const result = quotaDecide(current ? entry[1] : 0, spec.count, end, now);
    if (!result.allowed) return result;
    if (current) entry[1]++;
    else this.#insert(k, [end, 1], entry !== undefined);
    return result;
  }

  /** Stores a new entry (or renews an expired one) as the newest, evicting the oldest when full. */
  #insert(k: string, value: Entry, expired: boolean): void {
    if (expired) this.#entries.delete(k);
    while (this.#entries.size >= this.#maxKeys) this.#evictOldest();
    this.#entries.set(k, value);
  }

  #evictOldest(): void {
    for (;;) {
      const next = (this.#evictCursor ??= this.#entries.keys()).next();
      if (!next.done) {
        this.#entries.delete(next.value);
        return;
      }
      this.#evictCursor = undefined;
      if (this.#entries.size === 0) return;
    }
  }

  #startSweep(): void {
    // An idle eviction cursor would pin the Map's pre-rehash table; it is cheap to recreate.
    if (this.#entries.size < this.#maxKeys) this.#evictCursor = undefined;
    if (this.#sweepCursor === undefined) {
      this.#sweepCursor = this.#entries.entries();
      this.#sweepSlice();
    }
  }

  #sweepSlice(): void {
    const cursor = this.#sweepCursor;
    if (cursor === undefined || this.#closed) return;
    const now = this.#now();
    for (let i = 0; i < SWEEP_SLICE; i++) {
      const next = cursor.next();
      if (next.done) {
        this.#sweepCursor = undefined;
        return;
      }
      if (expiresAt(next.value[1]) <= now) this.#entries.delete(next.value[0]);
    }
    setImmediate(() => this.#sweepSlice()).unref();
  }
}
