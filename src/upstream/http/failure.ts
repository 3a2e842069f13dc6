/** Turning an undici failure into a stable upstream error code, by error `code`, never by message. */
import type { Refusal } from '../../errors.js';

/** Why a forward ended without a complete response. */
export type ForwardFailureCode = 'upstream_unreachable' | 'upstream_timeout' | 'upstream_error' | 'body_too_large' | 'client_aborted';

/** Codes meaning "no connection could be made"; undici and node:net report these. */
const UNREACHABLE = new Set([
  'UND_ERR_CONNECT_TIMEOUT', 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EHOSTUNREACH', 'ENETUNREACH',
  'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL', 'UND_ERR_DESTROYED', 'UND_ERR_CLOSED',
]);
/**
 * Codes of a TLS handshake that failed: Node's (`ERR_TLS_*`), OpenSSL's alerts and errors
 * (`ERR_SSL_*`, e.g. the upstream's "certificate required") and certificate verification results
 * (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `CERT_HAS_EXPIRED`, `SELF_SIGNED_CERT_IN_CHAIN`, ...).
 */
const TLS_FAILURE = /^(ERR_TLS_|ERR_SSL_|UNABLE_TO_|CERT_|SELF_SIGNED_|DEPTH_ZERO_SELF_SIGNED_|HOSTNAME_MISMATCH|INVALID_CA|INVALID_PURPOSE)/;
/** The code a new TLS connection fails with when the upstream closes it before sending a byte (see pools.ts). */
export const TLS_CLOSED_UNANSWERED = 'GATEHOUSE_TLS_CLOSED_UNANSWERED';
/** Codes undici raises for a request it refuses to send: a gateway-side problem, not a dead upstream. */
const NOT_SENDABLE = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED']);

/**
 * Classify an upstream failure. `requestStarted` tells whether undici got as far as a connected
 * socket: anything before that (refused, DNS, connect timeout, TLS verification) is unreachable.
 * The internal detail (audit and log only, never the client) names the code only: messages can
 * carry internal addresses.
 */
export function classifyFailure(err: unknown, requestStarted: boolean): Refusal & { code: ForwardFailureCode } {
  const code = errorCode(err);
  if (NOT_SENDABLE.has(code)) return { code: 'upstream_error', internal: `request could not be sent upstream (${code})` };
  // Under TLS 1.3 the upstream checks the client certificate after the client's handshake is done,
  // so its refusal can come after the request was written: it still never reached the upstream.
  if (code === TLS_CLOSED_UNANSWERED) return { code: 'upstream_unreachable', internal: `TLS handshake with the upstream failed (${code}: it closed the new connection unanswered, e.g. refused the client certificate)` };
  if (TLS_FAILURE.test(code)) return { code: 'upstream_unreachable', internal: `TLS handshake with the upstream failed (${code})` };
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return { code: 'upstream_timeout', internal: 'upstream sent no response headers in time' };
  if (!requestStarted || UNREACHABLE.has(code)) return { code: 'upstream_unreachable', internal: `could not connect to the upstream (${code})` };
  if (code === 'UND_ERR_BODY_TIMEOUT') return { code: 'upstream_error', internal: 'upstream response body stalled' };
  return { code: 'upstream_error', internal: `upstream connection failed (${code})` };
}

function errorCode(err: unknown): string {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : 'unknown';
}
