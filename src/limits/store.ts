import { channel } from 'node:diagnostics_channel';

/**
 * The contract between the limit stage and its state. Two implementations: memory (one process)
 * and Redis (a fleet). A shared contract suite (test/limits/store-contract.ts) runs against both.
 */

/** A steady rate with a burst capacity (GCRA; API Gateway semantics). */
export interface RateSpec {
  readonly kind: 'rate';
  /** Stable id of the limit (route + limit name); part of the storage key. */
  readonly id: string;
  /** `count` requests per `periodMs` on average… */
  readonly count: number;
  readonly periodMs: number;
  /** …and up to `burst` at once from a full bucket (burst >= 1). */
  readonly burst: number;
}

/** A number of requests per calendar-aligned window in UTC. */
export interface QuotaSpec {
  readonly kind: 'quota';
  readonly id: string;
  readonly count: number;
  /** Fixed windows aligned to multiples of `ms` since the epoch (minute/hour/day are UTC-aligned), or calendar months. */
  readonly window: { readonly kind: 'fixed'; readonly ms: number } | { readonly kind: 'month' };
}

export type LimitSpec = RateSpec | QuotaSpec;

/** One limit applied to one caller key (already derived: e.g. `client:abc`, `ip:203.0.113.9`, `global`). */
export interface LimitCheck {
  readonly spec: LimitSpec;
  readonly key: string;
}

export interface LimitResult {
  readonly allowed: boolean;
  /** The burst capacity (rate) or the quota count. */
  readonly limit: number;
  /** Requests still allowed right now after this one (0 when refused). */
  readonly remaining: number;
  /** Milliseconds until the budget is whole again (rate: bucket full; quota: window end). */
  readonly resetMs: number;
  /** Milliseconds until a refused request could pass (0 when allowed). */
  readonly retryAfterMs: number;
}

/** Published when a shared store goes down or comes back: `{ store, state: 'down' | 'up', first, error?, fail }`. */
export const storeChanged = channel('gatehouse:limits:store');

/** Raised by a store that cannot decide (Redis unreachable, timeout); the stage applies `fail`. */
export class StoreUnavailableError extends Error {
  readonly code = 'limiter_unavailable' as const;
}

export interface LimitStore {
  readonly kind: 'memory' | 'redis';
  /**
   * Count one request against every check, in one round trip, and return one result per check in
   * order. Each check consumes independently (a request refused by one limit still counts against
   * the others it passed). Rejects with StoreUnavailableError when the store cannot decide.
   */
  check(checks: readonly LimitCheck[]): Promise<LimitResult[]>;
  close(): Promise<void>;
}
