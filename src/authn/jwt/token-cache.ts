/**
 * Verified-token cache: a bounded, insertion-ordered Map keyed by the full token string (never a
 * hash or prefix, so a different token can never hit another's entry). Failures are never cached.
 */
import type { CryptoKey } from 'jose';

/** A cached verification: the frozen result and the window and key it stays valid for. */
interface Entry<T> {
  readonly value: T;
  /** Epoch seconds from which it may be served (nbf minus skew). */
  readonly from: number;
  /** Epoch seconds until which it may be served (exclusive): exp, or sooner for maxTokenAge. */
  readonly until: number;
  /** The key that verified it: once gone from the key set, the entry is dead. */
  readonly key: CryptoKey;
}

/** Bounded cache of verified tokens. */
export class TokenCache<T> {
  hits = 0;
  readonly #max: number;
  readonly #entries = new Map<string, Entry<T>>();
  readonly #isCurrent: (key: CryptoKey) => boolean;

  constructor(max: number, isCurrent: (key: CryptoKey) => boolean) {
    this.#max = max;
    this.#isCurrent = isCurrent;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached value if it is still inside its window and its key is still published. */
  get(token: string, now: number): T | undefined {
    const entry = this.#entries.get(token);
    if (entry === undefined) return undefined;
    if (now >= entry.from && now < entry.until && this.#isCurrent(entry.key)) {
      this.hits++;
      return entry.value;
    }
    this.#entries.delete(token);
    return undefined;
  }

  /** Remember a verification; evicts the oldest insertion when full. */
  set(token: string, value: T, from: number, until: number, key: CryptoKey, now: number): void {
    if (now >= until || !this.#isCurrent(key)) return;
    if (!this.#entries.has(token) && this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(token, { value, from, until, key });
  }

  clear(): void {
    this.#entries.clear();
  }
}
