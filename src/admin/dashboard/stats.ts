/**
 * The dashboard's live traffic statistics: one bucket per second over the last five minutes, fed by
 * `gatehouse:request:end`. Memory is bounded whatever the traffic: 300 buckets, each with a fixed
 * latency histogram, one entry per route (the config bounds them), per limit name, per status and
 * code, and at most CALLERS_PER_SECOND callers (a space-saving summary: the heavy hitters stay).
 */
import type { RequestRecord } from '../../observe/events.js';

export const WINDOW_SECONDS = 300;
/** Upper bounds (ms) of the latency histogram's buckets; one more bucket holds the rest. */
export const LATENCY_BOUNDS_MS = [0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 2000, 5000, 10_000, 30_000] as const;
const CALLERS_PER_SECOND = 32;
const TOP_CALLERS = 20;

interface RouteCounts { requests: number; refused: number; upstreamErrors: number; durationMs: number; lastUpstreamStatus: number | undefined }
interface CallerCounts { requests: number; refused: number; error: number }
interface LimitCounts { allowed: number; limited: number }

/** One second of traffic, as it travels between processes (plain JSON: entry lists, no objects keyed by caller text). */
export interface SecondExport {
  t: number;
  requests: number;
  refused: number;
  latency: number[];
  byStatus: [number, number][];
  byCode: [string, number][];
  routes: [string, RouteCounts][];
  callers: [string, CallerCounts][];
  limits: [string, LimitCounts][];
}

class Second {
  t = -1;
  requests = 0;
  refused = 0;
  readonly latency = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
  readonly byStatus = new Map<number, number>();
  readonly byCode = new Map<string, number>();
  readonly routes = new Map<string, RouteCounts>();
  readonly callers = new Map<string, CallerCounts>();
  readonly limits = new Map<string, LimitCounts>();

  reset(t: number): void {
    this.t = t;
    this.requests = this.refused = 0;
    this.latency.fill(0);
    for (const m of [this.byStatus, this.byCode, this.routes, this.callers, this.limits]) m.clear();
  }

  add(r: RequestRecord): void {
    const refused = r.error !== undefined;
    this.requests++;
    if (refused) this.refused++;
    this.latency[latencyBucket(r.durationMs)]!++;
    this.byStatus.set(r.status, (this.byStatus.get(r.status) ?? 0) + 1);
    if (r.error !== undefined) this.byCode.set(r.error, (this.byCode.get(r.error) ?? 0) + 1);
    const name = r.route ?? '-';
    let route = this.routes.get(name);
    if (route === undefined) this.routes.set(name, (route = { requests: 0, refused: 0, upstreamErrors: 0, durationMs: 0, lastUpstreamStatus: undefined }));
    route.requests++;
    route.durationMs += r.durationMs;
    if (refused) route.refused++;
    if (r.upstreamStatus !== undefined) route.lastUpstreamStatus = r.upstreamStatus;
    if (r.error?.startsWith('upstream_')) route.upstreamErrors++;
    this.countCaller(callerOf(r), refused);
    if (r.limit !== undefined) {
      // An allowed request passed every limit of its route (the record names none); a refusal names the limit.
      const key = `${name}\0${r.limit.result === 'allowed' ? '' : r.limit.name ?? r.limit.result}`;
      let l = this.limits.get(key);
      if (l === undefined) this.limits.set(key, (l = { allowed: 0, limited: 0 }));
      if (r.limit.result === 'allowed') l.allowed++;
      else l.limited++;
    }
  }

  /** Space-saving: a new caller beyond the bound takes the place (and the count, as its error) of the smallest. */
  private countCaller(key: string, refused: boolean): void {
    let c = this.callers.get(key);
    if (c === undefined) {
      let inherited = 0;
      if (this.callers.size >= CALLERS_PER_SECOND) {
        let minKey = '';
        let min = Infinity;
        for (const [k, v] of this.callers) if (v.requests < min) { min = v.requests; minKey = k; }
        this.callers.delete(minKey);
        inherited = min;
      }
      this.callers.set(key, (c = { requests: inherited, refused: 0, error: inherited }));
    }
    c.requests++;
    if (refused) c.refused++;
  }

  export(): SecondExport {
    return {
      t: this.t, requests: this.requests, refused: this.refused, latency: [...this.latency],
      byStatus: [...this.byStatus], byCode: [...this.byCode],
      routes: [...this.routes].map(([k, v]) => [k, { ...v }]), callers: [...this.callers].map(([k, v]) => [k, { ...v }]), limits: [...this.limits].map(([k, v]) => [k, { ...v }]),
    };
  }
}

function latencyBucket(ms: number): number {
  let i = 0;
  while (i < LATENCY_BOUNDS_MS.length && ms > LATENCY_BOUNDS_MS[i]!) i++;
  return i;
}

/** Who made the request: the authenticated subject (with its provider), else the client address. */
function callerOf(r: RequestRecord): string {
  return r.identity ? `${r.identity.provider}:${r.identity.subject}` : `addr:${r.clientAddress}`;
}

/** The last five minutes of this process's traffic, a bucket per second. */
export class StatsCollector {
  readonly #ring = Array.from({ length: WINDOW_SECONDS }, () => new Second());

  constructor(private readonly now: () => number = Date.now) {}

  add(r: RequestRecord): void {
    const t = Math.floor(this.now() / 1000);
    const slot = this.#ring[t % WINDOW_SECONDS]!;
    if (slot.t !== t) slot.reset(t);
    slot.add(r);
  }

  /** The seconds of the window that saw traffic. */
  export(): SecondExport[] {
    const from = Math.floor(this.now() / 1000) - WINDOW_SECONDS + 1;
    return this.#ring.filter((s) => s.t >= from).map((s) => s.export());
  }
}

/** A latency percentile (ms) from histogram counts: the upper bound of the bucket it falls in. */
export function percentile(counts: readonly number[], q: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= q * total) return i < LATENCY_BOUNDS_MS.length ? LATENCY_BOUNDS_MS[i]! : LATENCY_BOUNDS_MS.at(-1)!;
  }
  return null;
}

const addInto = <K>(m: Map<K, number>, k: K, n: number): void => { m.set(k, (m.get(k) ?? 0) + n); };
const sumArrays = (a: number[], b: readonly number[]): void => { for (let i = 0; i < a.length; i++) a[i]! += b[i] ?? 0; };
const sorted = <K>(m: Map<K, number>): { key: K; count: number }[] => [...m].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count);

/** The dashboard's view of the window: `parts` are the exports of one or more processes (cluster workers), merged. */
export function summarize(parts: readonly SecondExport[][], nowMs: number = Date.now()): Record<string, unknown> {
  const last = Math.floor(nowMs / 1000);
  const seconds = new Map<number, { requests: number; refused: number; latency: number[] }>();
  const total = { requests: 0, refused: 0, latency: new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0) };
  const byStatus = new Map<number, number>();
  const byCode = new Map<string, number>();
  const routes = new Map<string, RouteCounts>();
  const callers = new Map<string, CallerCounts>();
  const limits = new Map<string, LimitCounts>();
  for (const b of parts.flat()) {
    if (b.t <= last - WINDOW_SECONDS) continue;
    let s = seconds.get(b.t);
    if (s === undefined) seconds.set(b.t, (s = { requests: 0, refused: 0, latency: new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0) }));
    s.requests += b.requests; s.refused += b.refused; sumArrays(s.latency, b.latency);
    total.requests += b.requests; total.refused += b.refused; sumArrays(total.latency, b.latency);
    for (const [k, n] of b.byStatus) addInto(byStatus, k, n);
    for (const [k, n] of b.byCode) addInto(byCode, k, n);
    for (const [k, v] of b.routes) {
      const r = routes.get(k);
      if (r === undefined) { routes.set(k, { ...v }); continue; }
      r.requests += v.requests; r.refused += v.refused; r.upstreamErrors += v.upstreamErrors; r.durationMs += v.durationMs;
      if (v.lastUpstreamStatus !== undefined) r.lastUpstreamStatus = v.lastUpstreamStatus;
    }
    for (const [k, v] of b.callers) {
      const c = callers.get(k) ?? { requests: 0, refused: 0, error: 0 };
      callers.set(k, { requests: c.requests + v.requests, refused: c.refused + v.refused, error: c.error + v.error });
    }
    for (const [k, v] of b.limits) {
      const l = limits.get(k) ?? { allowed: 0, limited: 0 };
      limits.set(k, { allowed: l.allowed + v.allowed, limited: l.limited + v.limited });
    }
  }
  const series = [];
  for (let t = last - WINDOW_SECONDS + 1; t <= last; t++) {
    const s = seconds.get(t);
    series.push({ t, requests: s?.requests ?? 0, refused: s?.refused ?? 0, p50: s ? percentile(s.latency, 0.5) : null, p99: s ? percentile(s.latency, 0.99) : null });
  }
  return {
    now: nowMs,
    windowSeconds: WINDOW_SECONDS,
    series,
    totals: { requests: total.requests, refused: total.refused, p50: percentile(total.latency, 0.5), p99: percentile(total.latency, 0.99) },
    byStatus: sorted(byStatus).map(({ key, count }) => ({ status: key, count })),
    byCode: sorted(byCode).map(({ key, count }) => ({ code: key, count })),
    routes: [...routes].map(([route, r]) => ({ route, requests: r.requests, refused: r.refused, upstreamErrors: r.upstreamErrors, meanMs: r.requests ? r.durationMs / r.requests : null, lastUpstreamStatus: r.lastUpstreamStatus ?? null }))
      .sort((a, b) => b.requests - a.requests),
    callers: [...callers].map(([caller, c]) => ({ caller, ...c })).sort((a, b) => b.requests - a.requests).slice(0, TOP_CALLERS),
    limits: [...limits].map(([key, l]) => {
      const [route, limit] = key.split('\0') as [string, string];
      return { route, limit: limit === '' ? null : limit, ...l };
    }).sort((a, b) => a.route.localeCompare(b.route) || (a.limit ?? '').localeCompare(b.limit ?? '')),
  };
}
