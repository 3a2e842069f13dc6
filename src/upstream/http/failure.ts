/** Turning an undici failure into a stable upstream error code, by error `code`, never by message. */
import type { Refusal } from '../../errors.js';

/** Why a forward ended without a complete response. */
export type ForwardFailureCode = 'upstream_unreachable' | 'upstream_timeout' | 'upstream_error' | 'body_too_large' | 'client_aborted';

/** Codes meaning "no connection could be made"; undici and node:net report these. */
const UNREACHABLE = new Set([
  'UND_ERR_CONNECT_TIMEOUT', 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EHOSTUNREACH', 'ENETUNREACH',
  'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL', 'UND_ERR_DESTROYED', 'UND_ERR_CLOSED',
]);
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
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return { code: 'upstream_timeout', internal: 'upstream sent no response headers in time' };
  if (!requestStarted || UNREACHABLE.has(code)) return { code: 'upstream_unreachable', internal: `could not connect to the upstream (${code})` };
  if (code === 'UND_ERR_BODY_TIMEOUT') return { code: 'upstream_error', internal: 'upstream response body stalled' };
  return { code: 'upstream_error', internal: `upstream connection failed (${code})` };
}

function errorCode(err: unknown): string {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : 'unknown';
}
