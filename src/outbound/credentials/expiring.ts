/**
 * A cache of credentials that expire (access tokens, temporary AWS keys): a value is served until
 * shortly before its expiry, then fetched again; concurrent requests for one key share one fetch
 * (single flight); a failed fetch is not cached. One lru-cache underneath.
 */
import { LRUCache } from 'lru-cache';

export interface Expiring<T> {
  readonly value: T;
  /** Epoch ms when the credential stops working. */
  readonly expiresAt: number;
}

export interface ExpiringCacheOptions<T> {
  /** Distinct keys kept (per caller, per audience, …). */
  readonly max: number;
  /** Fetch again when less than this is left (ms); never serve a credential past this margin. */
  readonly refreshBeforeMs: number;
  readonly load: (key: string) => Promise<Expiring<T>>;
  /** Clock (tests pin it). */
  readonly now?: () => number;
}

export class ExpiringCache<T extends object> {
  readonly #entries: LRUCache<string, Expiring<T>>;
  readonly #inflight = new Map<string, Promise<T>>();
  readonly #opts: ExpiringCacheOptions<T>;
  readonly #now: () => number;

  constructor(opts: ExpiringCacheOptions<T>) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#entries = new LRUCache({ max: opts.max });
  }

  /** The cached credential when it is still good for at least `refreshBeforeMs`; undefined otherwise. */
  peek(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.#now() < entry.expiresAt - this.#opts.refreshBeforeMs) return entry.value;
    this.#entries.delete(key);
    return undefined;
  }

  /** The credential for `key`: cached, or fetched (one fetch per key at a time). Rejects when the fetch fails. */
  get(key: string): Promise<T> {
    const cached = this.peek(key);
    if (cached !== undefined) return Promise.resolve(cached);
    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = this.#opts.load(key).then((e) => {
        if (e.expiresAt - this.#opts.refreshBeforeMs > this.#now()) this.#entries.set(key, e);
        return e.value;
      }).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
  }
}
