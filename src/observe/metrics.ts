import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RequestRecord } from './events.js';

/** Prometheus metrics fed by the `gatehouse:request:end` channel (the pipeline never calls them). */
export interface Metrics {
  readonly registry: Registry;
  close(): void;
}

/** Subscribe request, decision and limit counters; exposed on the admin port at `/metrics`. */
export function startMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gatehouse_process_' });
  const requests = new Counter({
    name: 'gatehouse_requests_total', help: 'Requests by route, status and reason code (`ok` when forwarded without error).',
    labelNames: ['route', 'status', 'code'] as const, registers: [registry],
  });
  const duration = new Histogram({
    name: 'gatehouse_request_duration_seconds', help: 'Time from request to response end, by route.',
    labelNames: ['route'] as const, buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry],
  });
  const limits = new Counter({
    name: 'gatehouse_limit_decisions_total', help: 'Limit stage outcomes by route, limit and result (allowed, rate_limited, quota_exhausted, limiter_unavailable, concurrency_limited).',
    labelNames: ['route', 'limit', 'result', 'fallback'] as const, registers: [registry],
  });
  const onRecord = (message: unknown): void => {
    const r = message as RequestRecord;
    const route = r.route ?? '-';
    requests.inc({ route, status: r.status, code: r.error ?? 'ok' });
    duration.observe({ route }, r.durationMs / 1000);
    if (r.limit) limits.inc({ route, limit: r.limit.name ?? '-', result: r.limit.result, fallback: r.limit.fallback ? 'true' : 'false' });
  };
  subscribe('gatehouse:request:end', onRecord);
  return { registry, close: () => unsubscribe('gatehouse:request:end', onRecord) };
}
