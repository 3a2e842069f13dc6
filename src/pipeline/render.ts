/**
 * The one module that turns a refusal into a response: an RFC 9457 problem body with the stable
 * code and the request id, the refusal's headers and the route's authentication challenge. Only
 * the code's title and a caller-safe detail are shown; internal details stay in the audit record.
 * Browsers on sign-in routes get an HTML page instead, and a login refusal is a redirect; a gRPC
 * client gets a gRPC status in trailers (HTTP 200 on the wire, as gRPC requires; the audit record
 * keeps the refusal's HTTP status).
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { ERRORS, type Refusal } from '../errors.js';
import { prefersHtml } from '../authn/session/browser.js';
import type { RequestContext } from './context.js';
import { errorPage, HTML_HEADERS, redirectBody } from './html.js';
import { grpcTrailers, isGrpc } from './grpc.js';

/** Base of the `type` URI of problem bodies; docs/errors.md documents every code. */
export const PROBLEM_TYPE_BASE = 'urn:gatehouse:error:';

/** Redirect `ctx` to `location` (a login, a callback's return, a logout) with `cookies` set. */
export function renderRedirect(ctx: RequestContext, location: string, cookies: readonly string[]): void {
  ctx.record.status = 302;
  const exchange = ctx.exchange;
  if (exchange.closed || exchange.headersSent) return;
  const body = redirectBody(location);
  const headers: OutgoingHttpHeaders = {
    ...HTML_HEADERS, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...ctx.responseHeaders, location, 'set-cookie': [...cookies],
  };
  ctx.record.bytesOut = exchange.send(302, headers, body);
}

function problemBody(ctx: RequestContext, refusal: Refusal, status: number, title: string): string {
  return JSON.stringify({
    type: PROBLEM_TYPE_BASE + refusal.code,
    title,
    status,
    code: refusal.code,
    ...(refusal.detail ? { detail: refusal.detail } : {}),
    ...(refusal.errors ? { errors: refusal.errors } : {}),
    request_id: ctx.requestId,
  });
}

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
  const location = refusal.headers?.location;
  if (status === 302 && typeof location === 'string') {
    const cookies = refusal.headers?.['set-cookie'];
    return renderRedirect(ctx, location, typeof cookies === 'string' ? [cookies] : cookies ?? []);
  }
  // A forward-auth decision answers the proxy, which speaks HTTP to us whatever its client speaks.
  if (ctx.record.forwardAuth !== true && isGrpc(ctx.headers)) return renderGrpcRefusal(ctx, refusal);
  const html = ctx.route?.browser === true && prefersHtml(ctx.headers);
  const body = html ? errorPage(status, title, code, ctx.requestId, refusal.detail) : problemBody(ctx, refusal, status, title);
  const headers: OutgoingHttpHeaders = {
    ...(html ? HTML_HEADERS : { 'content-type': 'application/problem+json' }),
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...ctx.responseHeaders,
    ...refusal.headers,
  };
  const challenge = ctx.route?.challenge(refusal);
  if (challenge !== undefined) headers['www-authenticate'] = challenge;
  record.bytesOut = exchange.send(status, headers, body);
}

/** Headers (`content-type: application/grpc`, the gateway's own, the challenge) then the status in trailers. */
function renderGrpcRefusal(ctx: RequestContext, refusal: Refusal): void {
  const headers: OutgoingHttpHeaders = { 'content-type': 'application/grpc', 'cache-control': 'no-store', ...ctx.responseHeaders, ...refusal.headers };
  const challenge = ctx.route?.challenge(refusal);
  if (challenge !== undefined) headers['www-authenticate'] = challenge;
  ctx.exchange.writeHead(200, undefined, headers);
  ctx.exchange.end(grpcTrailers(refusal.code, refusal.detail, ctx.record));
  ctx.record.bytesOut = 0;
}
