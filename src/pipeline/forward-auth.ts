/**
 * The forward-auth endpoint: the proxy in front (nginx `auth_request`, Traefik `ForwardAuth`, Caddy
 * `forward_auth`, Envoy `ext_authz`) asks whether the request it holds may pass. The request it
 * describes (forward-auth-request.ts) is routed as any other and decided by its route's `decide`
 * stages: authentication, policy, limits, then the identity headers and the assertion — never an
 * upstream credential, never the upstream. Allowed: 200 with those headers for the proxy to copy
 * upstream, no body. Refused: the refusal, rendered by the one render module as for any request.
 */
import type { Refusal } from '../errors.js';
import { routeRequest } from '../routing/stage.js';
import { RequestContext } from './context.js';
import type { Tracing } from '../observe/tracing/tracing.js';
import { describedRequest, type ForwardAuthEndpoint } from './forward-auth-request.js';
import type { Exchange } from './exchange.js';
import type { RouteTable } from '../routing/table.js';
import type { CompiledRoute } from './route.js';
import type { StageResult } from './stage.js';

export { addressedTo, compileForwardAuth, type ForwardAuthEndpoint } from './forward-auth-request.js';

/** A request to the endpoint: its context, on the described request; or, when it describes none, on the proxy's own and why. */
export function forwardAuthRequest(endpoint: ForwardAuthEndpoint, exchange: Exchange, tracing?: Tracing): { ctx: RequestContext; refusal: Refusal | undefined } {
  const described = describedRequest(endpoint, exchange);
  const refused = 'code' in described;
  const ctx = new RequestContext(refused ? exchange : described, endpoint.trusted, tracing);
  ctx.record.forwardAuth = true;
  return { ctx, refusal: refused ? described : undefined };
}

/** Decide the described request: route it, then run the route's decision stages. */
export function decide(table: RouteTable<CompiledRoute>, ctx: RequestContext): StageResult | Promise<StageResult> {
  const routed = routeRequest(table, ctx);
  return 'code' in routed ? (routed as Refusal) : routed.decide(ctx);
}

/**
 * The answer to an allowed request: 200, the identity headers (and assertion) as response headers, no body.
 * (A refused one is rendered by render.ts; the login redirect for browsers on session routes belongs
 * there too, and this context describes the original request it would return to.)
 */
export function answerAllowed(ctx: RequestContext): void {
  const record = ctx.record;
  record.status = 200;
  const exchange = ctx.exchange;
  if (exchange.closed || exchange.headersSent) return;
  const headers = { 'cache-control': 'no-store', 'content-length': 0, ...ctx.responseHeaders, ...ctx.outbound?.headers };
  record.bytesOut = exchange.send(200, headers, '');
}
