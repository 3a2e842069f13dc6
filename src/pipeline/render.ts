import type { ServerResponse } from 'node:http';
import { ERRORS, type ErrorCode } from '../errors.js';

/** Base of the `type` URI of problem bodies; docs/errors.md documents every code. */
export const PROBLEM_TYPE_BASE = 'urn:gatehouse:error:';

const INVALID_TOKEN_CODES = new Set<ErrorCode>([
  'token_location_not_allowed', 'token_malformed', 'algorithm_not_allowed', 'issuer_unknown', 'audience_mismatch',
  'token_expired', 'token_not_yet_valid', 'token_issued_in_future', 'token_too_old', 'signature_invalid',
  'unknown_key', 'token_type_invalid', 'claim_invalid', 'token_inactive',
]);

function quoted(text: string): string {
  return text.replace(/[\\"]/g, '').replace(/[^\x20-\x7e]/g, '');
}

/** The RFC 6750 challenge for a bearer route's refusal, or undefined when none applies. */
export function bearerChallenge(code: ErrorCode, detail?: string): string | undefined {
  if (code === 'token_missing') return 'Bearer realm="gatehouse"';
  if (INVALID_TOKEN_CODES.has(code)) {
    return `Bearer realm="gatehouse", error="invalid_token", error_description="${quoted(detail ?? ERRORS[code].title)}"`;
  }
  if (code === 'no_rule_matched' || code === 'denied_by_rule') return 'Bearer realm="gatehouse", error="insufficient_scope"';
  return undefined;
}

/**
 * Send an RFC 9457 problem body. The only place that turns an error code into a response.
 * `detail` must already be safe to show (no token, secret or key).
 */
export function sendProblem(
  res: ServerResponse,
  code: ErrorCode,
  requestId: string,
  opts: { detail?: string; bearer?: boolean; headers?: Record<string, string> } = {},
): { status: number; bytes: number } {
  const { status, title } = ERRORS[code];
  const body = JSON.stringify({
    type: PROBLEM_TYPE_BASE + code,
    title,
    status,
    code,
    ...(opts.detail ? { detail: opts.detail } : {}),
    request_id: requestId,
  });
  const headers: Record<string, string | number> = {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-request-id': requestId,
    ...opts.headers,
  };
  if (opts.bearer) {
    const challenge = bearerChallenge(code, opts.detail);
    if (challenge) headers['www-authenticate'] = challenge;
  }
  if (res.req?.method === 'HEAD') {
    res.writeHead(status, headers).end();
    return { status, bytes: 0 };
  }
  res.writeHead(status, headers).end(body);
  return { status, bytes: headers['content-length'] as number };
}
