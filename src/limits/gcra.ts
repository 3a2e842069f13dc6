/**
 * GCRA (generic cell rate algorithm) for rate limits: the state is one number, the theoretical
 * arrival time (TAT). A full bucket lets `burst` requests through at once, then `count` per period.
 * The Redis store runs the same arithmetic in Lua (redis-scripts.ts); keep the two in step.
 */
import type { LimitResult, RateSpec } from './store.js';

/** Float slack (ms) so sums of fractional emission intervals compare as intended; mirrored in Lua. */
export const EPSILON_MS = 1e-6;

/** The emission interval T: ms between two requests at the steady rate. */
export function emissionInterval(spec: RateSpec): number {
  return spec.periodMs / spec.count;
}

/** Rounds a duration up to whole ms, ignoring float noise, so "retry after N ms" really passes. */
export function ceilMs(ms: number): number {
  return ms <= EPSILON_MS ? 0 : Math.ceil(ms - EPSILON_MS);
}

/** The TAT this request would leave behind: a TAT in the past is the same as no state at all. */
export function gcraNextTat(stored: number | undefined, now: number, interval: number): number {
  return (stored === undefined || stored < now ? now : stored) + interval;
}

/**
 * Decides one request at `now` given `next = gcraNextTat(...)`. When allowed the caller stores
 * `next`; when refused the state is left unchanged.
 */
export function gcraDecide(next: number, now: number, interval: number, burst: number): LimitResult {
  const capacity = burst * interval;
  const ahead = next - now;
  if (ahead <= capacity + EPSILON_MS) {
    const remaining = Math.max(0, Math.floor((capacity - ahead) / interval + EPSILON_MS));
    return { allowed: true, limit: burst, remaining, resetMs: ceilMs(ahead), retryAfterMs: 0 };
  }
  return { allowed: false, limit: burst, remaining: 0, resetMs: ceilMs(ahead - interval), retryAfterMs: ceilMs(ahead - capacity) };
}
