/**
 * Rate-limit tokens a Redis store process holds per key (`leaseTokens` > 1): taken from Redis in one
 * script call, spent here for up to `leaseMs`. Unspent tokens expire (stricter, never looser).
 */
import type { LimitCheck, LimitResult } from './store.js';

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
export const LEASE_MS = 1000;
/** Most keys with a lease kept per store; the oldest are dropped beyond it (their tokens are lost: stricter). */
const MAX_LEASES = 10_000;

/** The leases of one store. */
export class LeaseBook {
  readonly #tokens: number;
  readonly #ms: number;
  readonly #leases = new Map<string, Lease>();

  constructor(tokens: number | undefined, ms: number | undefined) {
    this.#tokens = Math.max(1, Math.floor(tokens ?? 1));
    this.#ms = ms ?? LEASE_MS;
  }

  /** Whether tokens are leased at all (`leaseTokens` > 1). */
  get enabled(): boolean {
    return this.#tokens > 1;
  }

  /** Tokens to ask for: the configured lease, but never more than a tenth of the burst. */
  want(burst: number): number {
    return this.#tokens === 1 ? 1 : Math.max(1, Math.min(this.#tokens, Math.floor(burst / 10)));
  }

  /** Keep `granted − 1` tokens Redis gave beyond this request's one. */
  keep({ spec, key }: LimitCheck, granted: number, remaining: number, resetMs: number, limit: number): void {
    const id = `${spec.id}\0${key}`;
    const now = performance.now();
    const extra = granted - 1;
    const held = this.#leases.get(id);
    // Grants that overlap (concurrent requests of one key) add up: no token Redis counted is lost.
    const left = held !== undefined && now < held.until ? held.left + extra : extra;
    this.#leases.delete(id);
    if (this.#leases.size >= MAX_LEASES) this.#leases.delete(this.#leases.keys().next().value!);
    this.#leases.set(id, { left, until: now + this.#ms, remaining, fullAt: now + resetMs, limit });
  }

  /** Every check answered from a live lease (one token each), or undefined: then Redis decides them all. */
  take(checks: readonly LimitCheck[]): LimitResult[] | undefined {
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

  clear(): void {
    this.#leases.clear();
  }
}
