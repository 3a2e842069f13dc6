/**
 * The one module that turns a refusal into a response: an RFC 9457 problem body with the stable
 * code and the request id, the refusal's headers and the route's authentication challenge. Only
 * the code's title and a caller-safe detail are shown; internal details stay in the audit record.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { ERRORS, type Refusal } from '../errors.js';
import type { RequestContext } from './context.js';

/** Base of the `type` URI of problem bodies; docs/errors.md documents every code. */
export const PROBLEM_TYPE_BASE = 'urn:gatehouse:error:';

/** Answer `ctx` with `refusal` (when the client can still be answered) and record the outcome. */
export function renderRefusal(ctx: RequestContext, refusal: Refusal): void {
  const { code } = refusal;
  const { status, title } = ERRORS[code];
  const record = ctx.record;
  record.error = code;
  record.status = status;
  if (refusal.internal !== undefined) record.errorDetail = refusal.internal;
  const exchange = ctx.exchange;
  // Nobody is left to answer (client_aborted), or the upstream's headers are already out.
  if (exchange.closed || exchange.headersSent) return;
  const body = JSON.stringify({
    type: PROBLEM_TYPE_BASE + code,
    title,
    status,
    code,
    ...(refusal.detail ? { detail: refusal.detail } : {}),
    ...(refusal.errors ? { errors: refusal.errors } : {}),
    request_id: ctx.requestId,
  });
  const headers: OutgoingHttpHeaders = {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...ctx.responseHeaders,
    ...refusal.headers,
  };
  const challenge = ctx.route?.challenge(refusal);
  if (challenge !== undefined) headers['www-authenticate'] = challenge;
  record.bytesOut = exchange.send(status, headers, body);
}
