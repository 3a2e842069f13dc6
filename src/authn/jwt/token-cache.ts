/**
 * Verified-token cache: a bounded, insertion-ordered Map keyed by the full token string (never a
 * hash or prefix, so a different token can never hit another's entry). Failures are never cached.
 *
 * A token is admitted on its second verification, not its first: a token seen once is only noted in
 * a fixed table of fingerprints (no allocation). Callers who send each token once (a cache-miss
 * workload, one-time tokens) would otherwise fill the Map with entries that are never read and live
 * long enough to be promoted to V8's old generation, which is what makes its mark-compact pauses
 * frequent. A fingerprint collision only admits a token early; what is served still needs its
 * full string in the Map.
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
  /** Fingerprints of tokens verified once and not admitted yet; a slot per fingerprint's low bits. */
  readonly #seen: Uint32Array;

  constructor(max: number, isCurrent: (key: CryptoKey) => boolean) {
    this.#max = max;
    this.#isCurrent = isCurrent;
    // Twice the cache's size (at least 1024), a power of two: a token verified again within about
    // that many others is admitted; a slot taken by another token in between only delays it.
    this.#seen = new Uint32Array(2 ** Math.ceil(Math.log2(Math.max(1024, max * 2))));
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

  /** Remember a verification (from the token's second one on); evicts the oldest insertion when full. */
  set(token: string, value: T, from: number, until: number, key: CryptoKey, now: number): void {
    if (now >= until || !this.#isCurrent(key) || !this.#secondSighting(token)) return;
    if (!this.#entries.has(token) && this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(token, { value, from, until, key });
  }

  clear(): void {
    this.#entries.clear();
    this.#seen.fill(0);
  }

  /** Whether `token` was verified before (by its fingerprint); notes it when not. */
  #secondSighting(token: string): boolean {
    // FNV-1a over the last 32 characters: a signed token's end is its signature, different for every token.
    let h = 0x811c9dc5;
    for (let i = Math.max(0, token.length - 32); i < token.length; i++) h = Math.imul(h ^ token.charCodeAt(i), 0x01000193);
    const fingerprint = (h | 1) >>> 0;
    const slot = (h >>> 7) & (this.#seen.length - 1);
    if (this.#seen[slot] === fingerprint) return true;
    this.#seen[slot] = fingerprint;
    return false;
  }
}
