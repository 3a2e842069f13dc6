/** The messages between a cluster primary and its workers (node:cluster IPC). */
import type { ConfigIssue } from '../config/load.js';
import type { AssertionState } from './assertion-key.js';
import type { SimulateRequest } from '../admin/dashboard/views.js';

// Primary ↔ worker protocol. A worker says hello once it listens for messages (anything sent
// earlier would be lost), gets its settings, and answers questions by id. The primary owns the
// assertion signing key: a worker gets it (with the retired keys still published) at init and with
// every reload, so every worker and the primary's admin port publish the same JWKS. Remote secrets
// (`${keyvault:…}`, …) are read by the primary and sent the same way (reference → value), so every
// worker serves the same version and the store is asked once per poll, not once per worker.
export type RemoteSecrets = Record<string, string>;
export type Question =
  | 'readiness' | 'metrics' | { type: 'reload'; assertion: AssertionState; secrets: RemoteSecrets }
  // The dashboard's (admin.dashboard): a worker's collectors and runtime, or explain for a described request.
  | { type: 'dashboard'; what: 'stats' | 'audit' | 'routes' | 'providers' } | { type: 'simulate'; request: SimulateRequest };
/** A worker's answer to a dashboard question: the data, a request the simulator cannot run, or what failed. */
export type DashboardAnswer = { ok: unknown } | { invalid: string } | { error: string };
export type ToWorker =
  | { type: 'gatehouse:init'; file: string; port?: number; assertion: AssertionState; secrets: RemoteSecrets }
  | { type: 'gatehouse:ask'; id: number; question: Question }
  | { type: 'gatehouse:stop' };
export type FromWorker =
  | { type: 'gatehouse:hello' }
  | { type: 'gatehouse:ready'; port: number }
  | { type: 'gatehouse:failed'; error: string; config?: { file: string; issues: ConfigIssue[] } }
  | { type: 'gatehouse:answer'; id: number; body: unknown }
  | { type: 'gatehouse:stopped'; forced: number };
export interface WorkerReadiness { ready: boolean; draining: boolean; providers: Record<string, boolean> }
