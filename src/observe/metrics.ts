import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Counter, Registry, collectDefaultMetrics, type Metric, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { RequestRecord } from './events.js';
import { startBrokerMetrics } from './broker-metrics.js';

/** Prometheus metrics fed by the `gatehouse:request:end` channel (the pipeline never calls them). */
export interface Metrics {
  readonly registry: Registry;
  close(): void;
}

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/**
 * Per-route tallies, updated with a few map lookups and additions per request. prom-client's own
 * `inc(labels)`/`observe(labels)` sort and hash the label object on every call (≈ 3.5 µs per
 * request measured); here that work happens once per scrape instead.
 */
class RouteTally {
  /** status → code → requests */
  readonly requests = new Map<number, Map<string, number>>();
  /** Non-cumulative bucket counts; the last slot is +Inf. */
  readonly buckets = new Float64Array(DURATION_BUCKETS.length + 1);
  sum = 0;
  count = 0;
  /** `limit \0 result \0 fallback` → decisions */
  readonly limits = new Map<string, number>();
  /** Upstreams with several targets: `target \0 status` → requests, and retries. */
  readonly targets = new Map<string, number>();
  retries = 0;

  add(r: RequestRecord): void {
    let byCode = this.requests.get(r.status);
    if (byCode === undefined) this.requests.set(r.status, (byCode = new Map()));
    const code = r.error ?? 'ok';
    byCode.set(code, (byCode.get(code) ?? 0) + 1);
    const seconds = r.durationMs / 1000;
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    this.buckets[i]!++;
    this.sum += seconds;
    this.count++;
    if (r.limit) {
      const key = `${r.limit.name ?? '-'}\0${r.limit.result}\0${r.limit.fallback ? 'true' : 'false'}`;
      this.limits.set(key, (this.limits.get(key) ?? 0) + 1);
    }
    if (r.upstreamRetries !== undefined) {
      const key = `${r.upstreamTarget ?? '-'}\0${r.status}`;
      this.targets.set(key, (this.targets.get(key) ?? 0) + 1);
      this.retries += r.upstreamRetries;
    }
  }
}

/** The duration histogram in prom-client's metric shape, rendered from the tallies at scrape time. */
function durationHistogram(tallies: Map<string, RouteTally>): Metric {
  const name = 'gatehouse_request_duration_seconds';
  const metric = {
    name,
    help: 'Time from request to response end, by route.',
    type: 'histogram',
    aggregator: 'sum',
    get(): Promise<MetricObjectWithValues<MetricValue<string>>> {
      const values: MetricValue<string>[] = [];
      for (const [route, t] of tallies) {
        let cumulative = 0;
        for (let i = 0; i <= DURATION_BUCKETS.length; i++) {
          cumulative += t.buckets[i]!;
          const le = i < DURATION_BUCKETS.length ? DURATION_BUCKETS[i]! : '+Inf';
          values.push({ labels: { le, route }, value: cumulative, metricName: `${name}_bucket` } as MetricValue<string>);
        }
        values.push({ labels: { route }, value: t.sum, metricName: `${name}_sum` } as MetricValue<string>);
        values.push({ labels: { route }, value: t.count, metricName: `${name}_count` } as MetricValue<string>);
      }
      return Promise.resolve({ name, help: metric.help, type: 'histogram', values, aggregator: 'sum' } as unknown as MetricObjectWithValues<MetricValue<string>>);
    },
    reset(): void { tallies.clear(); },
  };
  return metric as unknown as Metric;
}

/** Subscribe request, decision and limit counters; exposed on the admin port at `/metrics`. */
export function startMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gatehouse_process_' });
  const tallies = new Map<string, RouteTally>();
  new Counter({
    name: 'gatehouse_requests_total', help: 'Requests by route, status and reason code (`ok` when forwarded without error).',
    labelNames: ['route', 'status', 'code'] as const, registers: [registry],
    collect() {
      this.reset();
      for (const [route, t] of tallies) for (const [status, byCode] of t.requests) for (const [code, n] of byCode) this.inc({ route, status, code }, n);
    },
  });
  new Counter({
    name: 'gatehouse_limit_decisions_total', help: 'Limit stage outcomes by route, limit and result (allowed, rate_limited, quota_exhausted, limiter_unavailable, concurrency_limited).',
    labelNames: ['route', 'limit', 'result', 'fallback'] as const, registers: [registry],
    collect() {
      this.reset();
      for (const [route, t] of tallies) {
        for (const [key, n] of t.limits) {
          const [limit, result, fallback] = key.split('\0') as [string, string, string];
          this.inc({ route, limit, result, fallback }, n);
        }
      }
    },
  });
  new Counter({
    name: 'gatehouse_upstream_target_requests_total', help: 'Requests to upstreams with several targets, by route, the target of the last attempt (`-` when none could take it) and status.',
    labelNames: ['route', 'target', 'status'] as const, registers: [registry],
    collect() {
      this.reset();
      for (const [route, t] of tallies) {
        for (const [key, n] of t.targets) {
          const [target, status] = key.split('\0') as [string, string];
          this.inc({ route, target, status }, n);
        }
      }
    },
  });
  new Counter({
    name: 'gatehouse_upstream_retries_total', help: 'Retries on another target, by route (upstreams with several targets).',
    labelNames: ['route'] as const, registers: [registry],
    collect() {
      this.reset();
      for (const [route, t] of tallies) if (t.retries > 0) this.inc({ route }, t.retries);
    },
  });
  // `target \0 event` → changes of state of upstream targets (upstream/http/target-set.ts).
  const targetEvents = new Map<string, number>();
  new Counter({
    name: 'gatehouse_upstream_target_events_total', help: 'Changes of state of upstream targets: ejected, circuit_open, circuit_closed, health_down, health_up.',
    labelNames: ['target', 'event'] as const, registers: [registry],
    collect() {
      this.reset();
      for (const [key, n] of targetEvents) {
        const [target, event] = key.split('\0') as [string, string];
        this.inc({ target, event }, n);
      }
    },
  });
  const onTarget = (message: unknown): void => {
    const { target, event } = message as { target: string; event: string };
    const key = `${target}\0${event}`;
    targetEvents.set(key, (targetEvents.get(key) ?? 0) + 1);
  };
  subscribe('gatehouse:upstream:target', onTarget);
  registry.registerMetric(durationHistogram(tallies));
  const onRecord = (message: unknown): void => {
    const r = message as RequestRecord;
    const route = r.route ?? '-';
    let t = tallies.get(route);
    if (t === undefined) tallies.set(route, (t = new RouteTally()));
    t.add(r);
  };
  subscribe('gatehouse:request:end', onRecord);
  const stopBroker = startBrokerMetrics(registry);
  return { registry, close: () => { unsubscribe('gatehouse:request:end', onRecord); unsubscribe('gatehouse:upstream:target', onTarget); stopBroker(); } };
}
