/** Where the dashboard's data comes from: this process (its runtime and collectors), or every cluster worker. */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { RequestRecord } from '../../observe/events.js';
import type { RuntimeRef } from '../../pipeline/gateway.js';
import { AuditTail, type AuditRow } from './audit-tail.js';
import { StatsCollector, type SecondExport } from './stats.js';
import { providersView, routesView, simulate, type SimulateRequest } from './views.js';

/** The dashboard's questions; every answer is plain JSON (a cluster primary gets it over IPC). */
export interface DashboardSource {
  /** Per-second traffic buckets, one list per process (merged by `summarize`). */
  stats(): Promise<SecondExport[][]>;
  /** The audit tail's rows of every process, oldest first per process. */
  audit(): Promise<AuditRow[]>;
  routes(): Promise<unknown[]>;
  providers(): Promise<unknown[]>;
  simulate(req: SimulateRequest): Promise<unknown>;
}

/** The dashboard's collectors in one process: subscribed to finished requests until close(). */
export interface DashboardCollector {
  readonly stats: StatsCollector;
  readonly tail: AuditTail;
  close(): void;
}

/** Subscribe the traffic statistics and the audit tail to `gatehouse:request:end`. */
export function startDashboardCollector(): DashboardCollector {
  const stats = new StatsCollector();
  const tail = new AuditTail();
  const onRecord = (message: unknown): void => {
    const r = message as RequestRecord;
    stats.add(r);
    tail.add(r);
  };
  subscribe('gatehouse:request:end', onRecord);
  return { stats, tail, close: () => unsubscribe('gatehouse:request:end', onRecord) };
}

/** This process's dashboard data: its collectors and its current runtime (read through `ref`). */
export function localDashboardSource(ref: RuntimeRef, collector: DashboardCollector): DashboardSource {
  return {
    stats: () => Promise.resolve([collector.stats.export()]),
    audit: () => Promise.resolve(collector.tail.rows()),
    routes: () => Promise.resolve(routesView(ref.current)),
    providers: () => Promise.resolve(providersView(ref.current)),
    simulate: (req) => simulate(ref.current, req),
  };
}
