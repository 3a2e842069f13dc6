/**
 * gRPC over the gateway: which requests are gRPC calls, their deadline (`grpc-timeout`), and how a
 * refusal reaches a gRPC client — as a gRPC status in trailers (grpc/doc/PROTOCOL-HTTP2.md), never a
 * JSON or HTML body its client library cannot read. gRPC-Web (`application/grpc-web*`) is not gRPC
 * here: it is an HTTP/1.1-compatible framing the upstream answers itself.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { ERRORS, type ErrorCode, type Refusal } from '../errors.js';

/** gRPC status codes the gateway answers with (grpc/doc/statuscodes.md). */
export const GRPC_STATUS = {
  CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, UNAUTHENTICATED: 16,
} as const;

/** A gRPC call: `content-type: application/grpc` or `application/grpc+<codec>` (`;` parameters allowed). */
export function isGrpc(headers: IncomingHttpHeaders): boolean {
  const type = headers['content-type'];
  if (type === undefined || !type.startsWith('application/grpc')) return false;
  const next = type.charCodeAt(16);
  // Exactly `application/grpc`, or followed by `+codec` or `;`: not `application/grpc-web`.
  return Number.isNaN(next) || next === 0x2b || next === 0x3b;
}

const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000_001 };

/**
 * The call's deadline from `grpc-timeout` (1 to 8 ASCII digits and a unit H M S m u n) in
 * milliseconds; undefined without one, 'invalid' when it does not parse.
 */
export function grpcTimeoutMs(value: string | string[] | undefined): number | 'invalid' | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return 'invalid';
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  return m === null ? 'invalid' : Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** `grpc-timeout` for what is left of a deadline, in the coarsest unit that keeps 8 digits. */
export function formatGrpcTimeout(ms: number): string {
  const micros = Math.max(1, Math.ceil(ms * 1000));
  if (micros <= 99_999_999) return `${micros}u`;
  const millis = Math.ceil(ms);
  if (millis <= 99_999_999) return `${millis}m`;
  return `${Math.min(99_999_999, Math.ceil(ms / 1000))}S`;
}

/** By code where the meaning is specific, otherwise grpc/doc/http-grpc-status-mapping.md by HTTP status. */
const BY_CODE: Partial<Record<ErrorCode, number>> = {
  grpc_deadline_exceeded: GRPC_STATUS.DEADLINE_EXCEEDED,
  upstream_timeout: GRPC_STATUS.UNAVAILABLE,
  grpc_timeout_invalid: GRPC_STATUS.INVALID_ARGUMENT,
  body_too_large: GRPC_STATUS.RESOURCE_EXHAUSTED,
  quota_exhausted: GRPC_STATUS.RESOURCE_EXHAUSTED,
  route_not_found: GRPC_STATUS.UNIMPLEMENTED,
  method_not_allowed: GRPC_STATUS.UNIMPLEMENTED,
};

export function grpcStatusOf(code: ErrorCode): number {
  const mapped = BY_CODE[code];
  if (mapped !== undefined) return mapped;
  const status = ERRORS[code].status;
  if (status === 401) return GRPC_STATUS.UNAUTHENTICATED;
  if (status === 403) return GRPC_STATUS.PERMISSION_DENIED;
  if (status === 429) return GRPC_STATUS.RESOURCE_EXHAUSTED;
  if (status === 404) return GRPC_STATUS.UNIMPLEMENTED;
  if (status === 502 || status === 503 || status === 504) return GRPC_STATUS.UNAVAILABLE;
  if (status === 499) return GRPC_STATUS.CANCELLED;
  return status >= 400 && status < 500 ? GRPC_STATUS.INVALID_ARGUMENT : GRPC_STATUS.INTERNAL;
}

/** `grpc-message` is percent-encoded UTF-8: visible ASCII but `%` as is, every other byte as %XX. */
export function grpcMessage(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The trailers that end a call the gateway refused or cut (the status, its message and the stable code); the status is recorded. */
export function grpcTrailers(code: ErrorCode, detail: string | undefined, record: { grpcStatus?: number | undefined }): OutgoingHttpHeaders {
  const status = grpcStatusOf(code);
  record.grpcStatus = status;
  return {
    'grpc-status': String(status),
    'grpc-message': grpcMessage(`${code}: ${detail ?? ERRORS[code].title}`),
  };
}

/**
 * The deadline of a gRPC call to the upstream, as a `performance.now()` instant: the client's
 * `grpc-timeout` counted from when the gateway received the call. What is left of it is what the
 * upstream is told (`headers['grpc-timeout']`, rewritten). Undefined for a call without a deadline (or
 * not gRPC); a refusal for an unreadable timeout or one already spent in the gateway.
 */
export function grpcDeadline(requestHeaders: IncomingHttpHeaders, start: number, headers: Record<string, string | string[]>): number | Refusal | undefined {
  if (!isGrpc(requestHeaders)) return undefined;
  const ms = grpcTimeoutMs(requestHeaders['grpc-timeout']);
  if (ms === undefined) return undefined;
  if (ms === 'invalid') return { code: 'grpc_timeout_invalid', detail: 'grpc-timeout must be 1 to 8 digits and a unit (H, M, S, m, u, n), e.g. 500m' };
  const at = start + ms;
  const left = at - performance.now();
  if (left <= 0) return DEADLINE_SPENT;
  headers['grpc-timeout'] = formatGrpcTimeout(left);
  return at;
}

const DEADLINE_SPENT: Refusal = Object.freeze({ code: 'grpc_deadline_exceeded', detail: 'the deadline passed before the call reached the upstream' });
