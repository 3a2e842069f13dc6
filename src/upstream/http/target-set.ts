/**
 * The targets of one upstream and what is known of each: requests in flight, active health,
 * passive ejection and its circuit. `pick` chooses among those that may take a request.
 */
import { channel } from 'node:diagnostics_channel';
import type { Dispatcher } from 'undici';
import type { TargetView } from '../upstream.js';

/** What happened to a target: `ejected`, `circuit_open`, `circuit_closed`, `health_down`, `health_up`. */
export type TargetEvent = 'ejected' | 'circuit_open' | 'circuit_closed' | 'health_down' | 'health_up';
/** Published when a target changes state: `{ target, event }` (metrics count them). */
export const targetChanged = channel('gatehouse:upstream:target');

/** Publish a target's change of state. */
export function announce(target: Target, event: TargetEvent): void {
  if (targetChanged.hasSubscribers) targetChanged.publish({ target: target.label, event });
}

/** Compiled outlier-ejection and breaker settings (milliseconds). */
export interface TargetPolicy {
  readonly consecutiveFailures: number;
  readonly ejectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjected: number;
  readonly breakerFailures: number;
  readonly breakerWindowMs: number;
  readonly cooldownMs: number;
}

/** One target: its pool, label (for metrics and audit) and state. */
export class Target {
  inFlight = 0;
  /** Active health (true until checks say otherwise). */
  up = true;
  ejectedUntil = 0;
  ejections = 0;
  consecutive = 0;
  /** Failure times within the breaker window (oldest first). */
  readonly failures: number[] = [];
  breaker: 'closed' | 'open' | 'half-open' = 'closed';
  openedAt = 0;
  /** A half-open probe is in flight. */
  probing = false;
  /** The last active health check: when it ended (epoch ms) and whether it passed. */
  lastCheck: { readonly at: number; readonly ok: boolean } | undefined;

  constructor(readonly label: string, readonly pool: Dispatcher) {}
}

/** The targets of one upstream with their balancing and failure policy. */
export class TargetSet {
  #next = 0;

  constructor(readonly targets: readonly Target[], readonly balance: 'round-robin' | 'least-request', readonly policy: TargetPolicy) {}

  /**
   * The target for the next attempt, skipping those in `tried`; undefined when none may take it.
   * A target whose circuit cooled down is let through once (half-open) by the caller taking it.
   */
  pick(tried: readonly Target[] | undefined, now: number): Target | undefined {
    const list = this.targets;
    const n = list.length;
    const start = this.#next;
    // Round-robin continues after the one taken (skipped targets do not hand their turn to one neighbour).
    this.#next = (start + 1) % n;
    let best: Target | undefined;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      const t = list[i]!;
      if (tried !== undefined && tried.includes(t)) continue;
      if (!this.#available(t, now)) continue;
      if (this.balance === 'round-robin') {
        this.#next = (i + 1) % n;
        return this.#take(t);
      }
      if (best === undefined || t.inFlight < best.inFlight) best = t;
    }
    return best === undefined ? undefined : this.#take(best);
  }

  /** The attempt on `t` got an answer below 500. */
  succeeded(t: Target): void {
    t.consecutive = 0;
    if (t.breaker !== 'closed') {
      t.breaker = 'closed';
      t.probing = false;
      t.failures.length = 0;
      announce(t, 'circuit_closed');
    }
  }

  /** The attempt on `t` failed: a 5xx answer, a connection failure or a timeout. */
  failed(t: Target, now: number): void {
    const p = this.policy;
    t.consecutive++;
    if (t.breaker === 'half-open') {
      t.breaker = 'open';
      t.openedAt = now;
      t.probing = false;
      announce(t, 'circuit_open');
    } else if (t.breaker === 'closed') {
      const f = t.failures;
      f.push(now);
      while (f.length > 0 && f[0]! <= now - p.breakerWindowMs) f.shift();
      if (f.length >= p.breakerFailures) {
        t.breaker = 'open';
        t.openedAt = now;
        f.length = 0;
        announce(t, 'circuit_open');
      }
    }
    if (t.consecutive >= p.consecutiveFailures && t.ejectedUntil <= now && this.ejected(now) < p.maxEjected) {
      t.ejections++;
      t.ejectedUntil = now + Math.min(p.ejectionMs * t.ejections, p.maxEjectionMs);
      t.consecutive = 0;
      announce(t, 'ejected');
    }
  }

  /** The attempt on `t` ended without saying anything of the target (the client left, the body was too large). */
  neutral(t: Target): void {
    if (t.breaker === 'half-open') t.probing = false;
  }

  /**
   * Each target's state at `now` (the clock `pick` is given), for the dashboard. `wall` is the
   * matching wall-clock time, to show when an ejection ends.
   */
  view(now: number, wall: number): TargetView[] {
    return this.targets.map((t) => ({
      target: t.label,
      state: !t.up ? 'down' : t.ejectedUntil > now ? 'ejected' : t.breaker === 'closed' ? 'up' : this.#cooling(t, now) ? 'circuit_open' : 'half_open',
      inFlight: t.inFlight, ejections: t.ejections,
      ejectedUntil: t.ejectedUntil > now ? new Date(wall + t.ejectedUntil - now).toISOString() : null,
      lastCheck: t.lastCheck === undefined ? null : { at: new Date(t.lastCheck.at).toISOString(), ok: t.lastCheck.ok },
    }));
  }

  /** Targets ejected now. */
  ejected(now: number): number {
    let n = 0;
    for (const t of this.targets) if (t.ejectedUntil > now) n++;
    return n;
  }

  #available(t: Target, now: number): boolean {
    if (!t.up || t.ejectedUntil > now) return false;
    if (t.breaker === 'closed') return true;
    if (t.breaker === 'open') return !this.#cooling(t, now);
    return !t.probing;
  }

  /** The circuit of `t` is open and still cooling down (no probe let through yet). */
  #cooling(t: Target, now: number): boolean {
    return t.breaker === 'open' && now - t.openedAt < this.policy.cooldownMs;
  }

  #take(t: Target): Target {
    if (t.breaker === 'open') t.breaker = 'half-open';
    if (t.breaker === 'half-open') t.probing = true;
    return t;
  }
}
