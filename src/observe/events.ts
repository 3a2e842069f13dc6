import { channel } from 'node:diagnostics_channel';
import type { ErrorCode } from '../errors.js';
import type { Identity } from '../identity/identity.js';
import type { TraceMarks } from './tracing/marks.js';

/**
 * Everything known about one request when it ends. Published on `gatehouse:request:end`;
 * audit, metrics and tracing subscribe. Holds no token, secret or key by construction.
 */
export interface RequestRecord {
  time: number;
  requestId: string;
  traceparent: string;
  method: string;
  path: string;
  /** Raw query string without `?` ('' when none); audit redacts it. */
  query: string;
  host: string;
  clientAddress: string;
  route?: string | undefined;
  identity?: Identity | undefined;
  authn: {
    result: 'ok' | 'refused' | 'public' | 'skipped'; reason?: ErrorCode; provider?: string;
    /** For a refused token: the issuer and tenant it claims, unverified (who tried, not who it was). */
    unverified?: { issuer?: string | undefined; tenant?: string | undefined };
  };
  decision?: { allow: boolean; rule?: string | undefined; reason: string } | undefined;
  /** The limit stage's outcome, when the route has limits or caps. */
  limit?: { result: 'allowed' | 'rate_limited' | 'quota_exhausted' | 'limiter_unavailable' | 'concurrency_limited'; name?: string | undefined; plan?: string | undefined; fallback?: true | undefined } | undefined;
  upstream?: string | undefined;
  /** The outbound credentials presented upstream: kind and whose (role, client, header), never a secret. */
  credentials?: { readonly kind: string; readonly [field: string]: string | Readonly<Record<string, string>> }[] | undefined;
  /** The path sent upstream (after prefix rewrites), without the query. */
  upstreamPath?: string | undefined;
  /** An upstream with several targets: the target of the last attempt (its origin), as configured. */
  upstreamTarget?: string | undefined;
  /** An upstream with several targets: how many times the request was retried on another target. */
  upstreamRetries?: number | undefined;
  /** The status the upstream answered with, once its response headers arrived. */
  upstreamStatus?: number | undefined;
  status: number;
  error?: ErrorCode | undefined;
  /** What went wrong inside, for the audit line only (an upstream's error code); never sent to the client. */
  errorDetail?: string | undefined;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  upstreamMs?: number | undefined;
  /** A broker upstream's message: where it went, its id, the broker's id once confirmed, how long the confirmation took. */
  message?: { destination: string; id: string; brokerId?: string | undefined; duplicate?: boolean | undefined; confirmMs?: number | undefined } | undefined;
  /** A proxied WebSocket, filled in when it closed (the record is published then): messages each way, the close code and who closed first. */
  websocket?: { messagesIn: number; messagesOut: number; closeCode: number; closedBy: 'client' | 'upstream' | 'gateway' } | undefined;
  /** A gRPC call's status: the upstream's `grpc-status`, or the one the gateway answered a refusal with. */
  grpcStatus?: number | undefined;
  /** A forward-auth decision (pipeline/forward-auth.ts): the request was decided for a proxy, never forwarded. */
  forwardAuth?: true | undefined;
  /** A sampled request's trace (tracing builds its spans from it); not audited. */
  trace?: TraceMarks | undefined;
}

/** The channel a finished request is published on. */
export const requestEnd = channel('gatehouse:request:end');
