/**
 * Compiling the several-target settings of an HTTP upstream, at load: one pool per target, the
 * target set with its policy, the retry budget and the health checks (closed with the runtime).
 */
import type { Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Pool } from 'undici';
import { parseDuration } from '../../config/units.js';
import type { ConfigIssue } from '../../config/issue.js';
import type { ShowValue } from '../../config/validate.js';
import type { UpstreamResources } from '../upstream.js';
import type { HttpUpstreamSchema } from './schema.js';
import { CircuitBreakerSchema, OutlierDetectionSchema, RetrySchema } from './resilience-schema.js';
import { Target, TargetSet } from './target-set.js';
import { RetryBudget } from './retry-budget.js';
import { startHealthChecks } from './health-check.js';
import type { RetryPolicy } from './resilient.js';

type HttpUpstreamConfig = Static<typeof HttpUpstreamSchema>;

const OUTLIER = Value.Default(OutlierDetectionSchema, {}) as Static<typeof OutlierDetectionSchema>;
const BREAKER = Value.Default(CircuitBreakerSchema, {}) as Static<typeof CircuitBreakerSchema>;
const RETRY = Value.Default(RetrySchema, {}) as Static<typeof RetrySchema>;

let checks = 0;

/** The upstream uses the several-target path: it lists targets or sets a resilience option. */
export function isResilient(cfg: HttpUpstreamConfig): boolean {
  return cfg.targets !== undefined || cfg.healthCheck !== undefined || cfg.outlierDetection !== undefined || cfg.circuitBreaker !== undefined || cfg.retry !== undefined;
}

/** Targets share the scheme and base path of `url`: only the address differs. */
export function targetIssues(cfg: HttpUpstreamConfig, path: string, show: ShowValue): ConfigIssue[] {
  const base = new URL(cfg.url);
  const issues: ConfigIssue[] = [];
  (cfg.targets ?? []).forEach((text, i) => {
    const at = `${path}/targets/${i}`;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return issues.push({ path: at, message: `expected a URL such as http://10.0.0.5:8080, got ${show(at, text)}` });
    }
    if (url.protocol !== base.protocol) issues.push({ path: at, message: `a target has the scheme of \`url\` (${base.protocol}//), got ${show(at, text)}` });
    else if (url.pathname !== '/' && url.pathname !== base.pathname) issues.push({ path: at, message: `a target has no path or the path of \`url\` (${base.pathname}), got ${show(at, text)}` });
    else if (url.search !== '' || url.username !== '' || url.password !== '') issues.push({ path: at, message: `a target is a scheme, host and port only, got ${show(at, text)}` });
    return undefined;
  });
  return issues;
}

/** Build the targets (each through `poolFor`), their policy, the retry budget and the health checks. */
export function compileTargets(cfg: HttpUpstreamConfig, resources: UpstreamResources, poolFor: (origin: string) => Pool): { set: TargetSet; retry: RetryPolicy } {
  const base = new URL(cfg.url);
  const origins = [...new Set((cfg.targets ?? [cfg.url]).map((t) => new URL(t).origin))];
  const targets = origins.map((origin) => new Target(origin, poolFor(origin)));
  const o = cfg.outlierDetection ?? OUTLIER;
  const b = cfg.circuitBreaker ?? BREAKER;
  const r = cfg.retry ?? RETRY;
  const set = new TargetSet(targets, cfg.balance ?? 'round-robin', {
    consecutiveFailures: o.consecutiveFailures, ejectionMs: parseDuration(o.ejection), maxEjectionMs: parseDuration(o.maxEjection),
    maxEjected: Math.floor((targets.length * o.maxEjectedPercent) / 100),
    breakerFailures: b.failures, breakerWindowMs: parseDuration(b.window), cooldownMs: parseDuration(b.cooldown),
  });
  const h = cfg.healthCheck;
  if (h !== undefined) {
    const policy = {
      path: h.path, host: base.host, intervalMs: parseDuration(h.interval), timeoutMs: parseDuration(h.timeout),
      healthyThreshold: h.healthyThreshold, unhealthyThreshold: h.unhealthyThreshold, expectStatus: h.expectStatus,
    };
    resources.get(`http:health:${++checks}`, () => startHealthChecks(targets, policy), (stop) => Promise.resolve(stop()));
  }
  const retry: RetryPolicy = {
    attempts: r.attempts, backoffMs: parseDuration(r.backoff), maxBackoffMs: parseDuration(r.maxBackoff), budget: new RetryBudget(r.budget, r.minPerSecond),
  };
  return { set, retry };
}
