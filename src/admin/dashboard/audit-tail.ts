/** The dashboard's audit tail: the last records of this process, in a ring, in the audit line's field names. */
import type { RequestRecord } from '../../observe/events.js';

export const AUDIT_TAIL_SIZE = 500;

/** One row of the tail: the audit line's fields that say who asked for what and what happened (no query string). */
export interface AuditRow {
  time: string;
  request_id: string;
  route: string | null;
  method: string;
  path: string;
  host: string;
  client_address: string;
  subject: string | null;
  provider: string | null;
  /** `allow`: forwarded without an error code; `deny`: refused (its `error` code says why). */
  decision: 'allow' | 'deny';
  rule: string | null;
  error: string | null;
  status: number;
  duration_ms: number;
}

/** What the tail can be filtered by (each absent or empty: any). */
export interface AuditFilter {
  subject?: string | undefined;
  route?: string | undefined;
  decision?: string | undefined;
  code?: string | undefined;
}

function row(r: RequestRecord): AuditRow {
  return {
    time: new Date(r.time).toISOString(), request_id: r.requestId, route: r.route ?? null, method: r.method, path: r.path, host: r.host,
    client_address: r.clientAddress, subject: r.identity?.subject ?? null, provider: r.identity?.provider ?? r.authn.provider ?? null,
    decision: r.error === undefined ? 'allow' : 'deny', rule: r.decision?.rule ?? null, error: r.error ?? null, status: r.status,
    duration_ms: Math.round(r.durationMs * 1000) / 1000,
  };
}

/** A ring of the last `size` records; rows are built when read, not per request. */
export class AuditTail {
  readonly #ring: (RequestRecord | undefined)[];
  #next = 0;

  constructor(readonly size: number = AUDIT_TAIL_SIZE) {
    this.#ring = new Array<RequestRecord | undefined>(size);
  }

  add(r: RequestRecord): void {
    this.#ring[this.#next] = r;
    this.#next = (this.#next + 1) % this.size;
  }

  /** Oldest first. */
  rows(): AuditRow[] {
    const out: AuditRow[] = [];
    for (let i = 0; i < this.size; i++) {
      const r = this.#ring[(this.#next + i) % this.size];
      if (r !== undefined) out.push(row(r));
    }
    return out;
  }
}

/** The rows matching every given field (exact match), newest first, at most `limit`. */
export function filterAudit(rows: readonly AuditRow[], f: AuditFilter, limit: number = AUDIT_TAIL_SIZE): AuditRow[] {
  const want = (v: string | undefined): v is string => v !== undefined && v !== '';
  const out = [...rows].reverse().filter((r) =>
    (!want(f.subject) || r.subject === f.subject) && (!want(f.route) || r.route === f.route)
    && (!want(f.decision) || r.decision === f.decision) && (!want(f.code) || r.error === f.code));
  return out.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0)).slice(0, limit);
}
