/** The messages between a cluster primary and its workers (node:cluster IPC). */
import type { ConfigIssue } from '../config/load.js';

// Primary ↔ worker protocol. A worker says hello once it listens for messages (anything sent
// earlier would be lost), gets its settings, and answers questions by id.
export type Question = 'readiness' | 'reload' | 'metrics';
export type ToWorker =
  | { type: 'gatehouse:init'; file: string; port?: number; issuer: string; key: string }
  | { type: 'gatehouse:ask'; id: number; question: Question }
  | { type: 'gatehouse:stop' };
export type FromWorker =
  | { type: 'gatehouse:hello' }
  | { type: 'gatehouse:ready'; port: number }
  | { type: 'gatehouse:failed'; error: string; config?: { file: string; issues: ConfigIssue[] } }
  | { type: 'gatehouse:answer'; id: number; body: unknown }
  | { type: 'gatehouse:stopped'; forced: number };
export interface WorkerReadiness { ready: boolean; draining: boolean; providers: Record<string, boolean> }
