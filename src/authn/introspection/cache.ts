/**
 * Introspection results by token digest. Keyed by SHA-256 of the token so the cache never holds a
 * usable credential; an entry only ever answers for the exact token that produced it.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** The cache key of a token. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** A bounded LRU of results that expire at a time each entry sets (epoch ms: the token's own expiry caps it). */
export class ResultCache<T extends object> {
  readonly #entries: LRUCache<string, { readonly value: T; readonly until: number }>;

  constructor(max: number) {
    this.#entries = new LRUCache({ max });
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value if `now` (ms) is before its expiry; an expired entry is dropped on the way. */
  get(key: string, now: number): T | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (now < entry.until) return entry.value;
    this.#entries.delete(key);
    return undefined;
  }

  /** Keep `value` until `until` (ms); nothing is stored for a window already over. */
  set(key: string, value: T, until: number, now: number): void {
    if (until > now) this.#entries.set(key, { value, until });
  }

  clear(): void {
    this.#entries.clear();
  }
}
