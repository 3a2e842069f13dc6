/**
 * Quotas: a count per window, windows aligned in UTC (fixed multiples of `ms` since the epoch, or
 * calendar months). Refused requests do not consume. The Redis store mirrors this in Lua.
 */
import type { LimitResult, QuotaSpec } from './store.js';

type QuotaWindow = QuotaSpec['window'];

/** Start (ms since epoch) of the calendar month in UTC that contains `now`. */
export function monthStart(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** Start of the UTC calendar month after the one that starts at `start`. */
export function nextMonthStart(start: number): number {
  const d = new Date(start);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** Start of the window containing `now` (a `day` window starts at 00:00 UTC). */
export function windowStart(window: QuotaWindow, now: number): number {
  return window.kind === 'fixed' ? Math.floor(now / window.ms) * window.ms : monthStart(now);
}

/** End (exclusive) of the window that starts at `start`. */
export function windowEnd(window: QuotaWindow, start: number): number {
  return window.kind === 'fixed' ? start + window.ms : nextMonthStart(start);
}

/** Decides one request given how many were already counted in the window ending at `end`. */
export function quotaDecide(used: number, limit: number, end: number, now: number): LimitResult {
  const resetMs = Math.max(0, end - now);
  if (used + 1 > limit) return { allowed: false, limit, remaining: 0, resetMs, retryAfterMs: resetMs };
  return { allowed: true, limit, remaining: limit - used - 1, resetMs, retryAfterMs: 0 };
}
