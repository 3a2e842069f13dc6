/**
 * The dashboard of a cluster primary: it has no runtime of its own, so it asks its workers. Traffic
 * and the audit tail are every live worker's, merged; routes, providers and the simulator are one
 * worker's answer (every worker runs the same config).
 */
import type { Worker } from 'node:cluster';
import type { DashboardSource } from '../admin/dashboard/source.js';
import type { AuditRow } from '../admin/dashboard/audit-tail.js';
import type { SecondExport } from '../admin/dashboard/stats.js';
import { SimulateError } from '../admin/dashboard/views.js';
import type { DashboardAnswer, Question } from './cluster-protocol.js';

const DASHBOARD_TIMEOUT_MS = 2000;

type Ask = <T>(worker: Worker, question: Question, timeoutMs: number) => Promise<T | undefined>;

/** The answers of every live worker (a worker that does not answer in time is left out). */
async function everyWorker<T>(live: () => Worker[], ask: Ask, question: Question): Promise<T[]> {
  const answers = await Promise.all(live().map((w) => ask<DashboardAnswer>(w, question, DASHBOARD_TIMEOUT_MS)));
  return answers.flatMap((a) => (a !== undefined && 'ok' in a ? [a.ok as T] : []));
}

/** One live worker's answer. */
async function oneWorker(live: () => Worker[], ask: Ask, question: Question): Promise<unknown> {
  const [worker] = live();
  if (worker === undefined) throw new Error('no worker is serving');
  const a = await ask<DashboardAnswer>(worker, question, DASHBOARD_TIMEOUT_MS);
  if (a === undefined) throw new Error(`worker ${worker.id} did not answer`);
  if ('invalid' in a) throw new SimulateError(a.invalid);
  if ('error' in a) throw new Error(`worker ${worker.id}: ${a.error}`);
  return a.ok;
}

/** Dashboard data for the primary's admin port, asked of the workers `live()` returns. */
export function clusterDashboardSource(live: () => Worker[], ask: Ask): DashboardSource {
  return {
    stats: async () => (await everyWorker<SecondExport[][]>(live, ask, { type: 'dashboard', what: 'stats' })).flat(),
    audit: async () => (await everyWorker<AuditRow[]>(live, ask, { type: 'dashboard', what: 'audit' })).flat(),
    routes: async () => (await oneWorker(live, ask, { type: 'dashboard', what: 'routes' })) as unknown[],
    providers: async () => (await oneWorker(live, ask, { type: 'dashboard', what: 'providers' })) as unknown[],
    simulate: (request) => oneWorker(live, ask, { type: 'simulate', request }),
  };
}
