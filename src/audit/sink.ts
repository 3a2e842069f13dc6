import pino, { type Logger } from 'pino';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import type { RequestRecord } from '../observe/events.js';

export interface AuditSink { close(): Promise<void> }

/** Field order of an audit line; stable so log pipelines can rely on it. */
function toLine(r: RequestRecord): Record<string, unknown> {
  return {
    request_id: r.requestId,
    traceparent: r.traceparent,
    route: r.route ?? null,
    method: r.method,
    path: r.path,
    host: r.host,
    client_address: r.clientAddress,
    identity: r.identity
      ? { provider: r.identity.provider, issuer: r.identity.issuer, subject: r.identity.subject, client_id: r.identity.clientId, tenant: r.identity.tenant, auth_method: r.identity.authMethod }
      : null,
    authn: r.authn,
    decision: r.decision ?? null,
    limit: r.limit ?? null,
    upstream: r.upstream ?? null,
    status: r.status,
    error: r.error ?? null,
    bytes_in: r.bytesIn,
    bytes_out: r.bytesOut,
    duration_ms: Math.round(r.durationMs * 1000) / 1000,
    upstream_ms: r.upstreamMs === undefined ? null : Math.round(r.upstreamMs * 1000) / 1000,
  };
}

/** Subscribe an asynchronous pino writer (stdout or an appended file) to finished requests. */
export function startAuditSink(opts: { sink: 'stdout' | 'file' | 'off'; path?: string }): AuditSink {
  if (opts.sink === 'off') return { async close() {} };
  // Lines are buffered up to 8 KiB and flushed at least every 200 ms: one write per batch under
  // load instead of one per request, and still prompt at low traffic (tail -f sees lines at once).
  const dest = pino.destination({ dest: opts.sink === 'file' ? opts.path! : 1, sync: false, minLength: 8192, mkdir: true, append: true });
  const flusher = setInterval(() => { if ((dest as unknown as { fd: number }).fd >= 0) dest.flush(); }, 200);
  flusher.unref();
  const logger: Logger = pino({ base: { type: 'audit' }, timestamp: pino.stdTimeFunctions.isoTime, messageKey: 'msg' }, dest);
  const onRecord = (message: unknown): void => { logger.info(toLine(message as RequestRecord)); };
  subscribe('gatehouse:request:end', onRecord);
  return {
    async close() {
      unsubscribe('gatehouse:request:end', onRecord);
      clearInterval(flusher);
      // The file may still be opening when a gateway stops right after starting.
      if ((dest as unknown as { fd: number }).fd < 0) await once(dest, 'ready');
      dest.flushSync();
      dest.end();
    },
  };
}
