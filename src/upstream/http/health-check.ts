/**
 * Active health checks: each target is probed with GET on its own timer (the next check starts
 * `interval` after the last ended, so checks of one target never overlap) through its own pool.
 */
import { announce, type Target } from './target-set.js';

/** Compiled health-check settings (milliseconds). */
export interface HealthCheckPolicy {
  readonly path: string;
  readonly host: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  /** Statuses that pass; undefined: any 2xx. */
  readonly expectStatus: readonly number[] | undefined;
}

/** Start checking every target; the returned function stops it. */
export function startHealthChecks(targets: readonly Target[], policy: HealthCheckPolicy): () => void {
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const schedule = (t: Target, streak: { passed: number; failed: number }): void => {
    if (stopped) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      void check(t, policy).then((ok) => {
        if (stopped) return;
        t.lastCheck = { at: Date.now(), ok };
        if (ok) {
          streak.failed = 0;
          if (++streak.passed >= policy.healthyThreshold && !t.up) {
            t.up = true;
            announce(t, 'health_up');
          }
        } else {
          streak.passed = 0;
          if (++streak.failed >= policy.unhealthyThreshold && t.up) {
            t.up = false;
            announce(t, 'health_down');
          }
        }
        schedule(t, streak);
      });
    }, policy.intervalMs);
    timer.unref();
    timers.add(timer);
  };
  for (const t of targets) schedule(t, { passed: 0, failed: 0 });
  return () => {
    stopped = true;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
  };
}

/** One check: response headers within the timeout and a passing status; the body is discarded. */
async function check(t: Target, p: HealthCheckPolicy): Promise<boolean> {
  try {
    const res = await t.pool.request({ method: 'GET', path: p.path, headers: { host: p.host }, headersTimeout: p.timeoutMs, signal: AbortSignal.timeout(p.timeoutMs) });
    res.body.resume();
    res.body.on('error', () => {});
    const s = res.statusCode;
    return p.expectStatus === undefined ? s >= 200 && s < 300 : p.expectStatus.includes(s);
  } catch {
    return false;
  }
}
