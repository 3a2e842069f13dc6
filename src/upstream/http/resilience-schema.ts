/** The schema fragment of an HTTP upstream with several targets: balancing, health, ejection, breaker, retries. */
import { Type } from '@sinclair/typebox';
import { Duration, Strict } from '../../config/types.js';

const Count = (description: string, def: number, max = 1000) => Type.Integer({ minimum: 1, maximum: max, default: def, description });

export const HealthCheckSchema = Strict({
  path: Type.String({ pattern: '^/', description: 'Path (and query) requested with GET on every target; the upstream URL\'s base path is not prefixed.' }),
  interval: Duration('Time from the end of one check of a target to the start of the next.', '5s'),
  timeout: Duration('A check without response headers in this time fails.', '2s'),
  healthyThreshold: Count('Consecutive passed checks that bring a target that is down back into rotation.', 2),
  unhealthyThreshold: Count('Consecutive failed checks that take a target out of rotation.', 3),
  expectStatus: Type.Optional(Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), { minItems: 1, description: 'Statuses that pass (default: any 2xx).' })),
}, 'Active health checks: each target is probed on its own timer; a target that is down gets no requests until it passes again. Every target starts up.');

export const OutlierDetectionSchema = Strict({
  consecutiveFailures: Count('Consecutive failures (5xx answers, connection failures, timeouts) that eject a target.', 5),
  ejection: Duration('How long the first ejection lasts; each further ejection of the same target lasts one more such period, up to `maxEjection`.', '10s'),
  maxEjection: Duration('Longest ejection.', '5m'),
  maxEjectedPercent: Type.Integer({ minimum: 0, maximum: 100, default: 50, description: 'Most targets ejected at once, as a share of all (rounded down): one bad target never takes the upstream down.' }),
}, 'Passive outlier ejection: a target failing requests in a row is taken out of rotation for a back-off period.');

export const CircuitBreakerSchema = Strict({
  failures: Count('Failures within `window` that open the circuit of a target.', 5),
  window: Duration('The window failures are counted in.', '10s'),
  cooldown: Duration('How long an open circuit stays open; then one probe request is let through (half-open): success closes it, failure opens it again.', '30s'),
}, 'A circuit breaker per target. When every target is open, ejected or down, requests are answered 503 `upstream_unavailable`.');

export const RetrySchema = Strict({
  attempts: Type.Integer({ minimum: 0, maximum: 5, default: 2, description: 'Most retries of one request, each to a target not yet tried. 0 disables retries.' }),
  budget: Type.Number({ minimum: 0, maximum: 1, default: 0.2, description: 'Retries allowed as a share of this upstream\'s requests over the last 10 seconds (beyond `minPerSecond`).' }),
  minPerSecond: Type.Integer({ minimum: 0, maximum: 1000, default: 3, description: 'Retries per second always allowed, whatever the share.' }),
  backoff: Duration('Base back-off before a retry: the n-th waits a random time up to base × 2^(n-1) (full jitter).', '25ms'),
  maxBackoff: Duration('Longest back-off before a retry.', '250ms'),
}, 'Retries to another target, only when safe: the request never reached a target (refused, unreachable: no byte of it was sent), or it failed before response headers and its method is idempotent (GET, HEAD, OPTIONS, PUT, DELETE) and its body, if any, was buffered. A streamed body that was sent, a timeout and any answer with headers (a 5xx included) are never retried.');

export const ResilienceFields = {
  targets: Type.Optional(Type.Array(Type.String({ pattern: '^https?://' }), {
    minItems: 1, maxItems: 64, uniqueItems: true,
    description: 'The replicas requests are spread over (`http://10.0.0.5:8080`), each with the scheme of `url` and no path or the path of `url`. When set, `url` names the service (its scheme, base path and the `Host` sent) and is a target only if listed here.',
  })),
  balance: Type.Optional(Type.Union([Type.Literal('round-robin'), Type.Literal('least-request')], { description: 'How `targets` share requests: `round-robin` (the default) or `least-request` (the fewest requests in flight, ties in turn).' })),
  healthCheck: Type.Optional(HealthCheckSchema),
  outlierDetection: Type.Optional(OutlierDetectionSchema),
  circuitBreaker: Type.Optional(CircuitBreakerSchema),
  retry: Type.Optional(RetrySchema),
};
