/** The route stage: parse and normalize the request target, match host, method and path. */
import { refusal, type Refusal } from '../errors.js';
import type { RequestContext, RouteView } from '../pipeline/context.js';
import { parseTarget } from './normalize.js';
import { normalizeHost, type RouteTable } from './table.js';

/** A route as routing needs it. */
export interface RoutableRoute extends RouteView {
  /** Accept `%2F` / `%5C` inside a path segment. */
  readonly allowEncodedSlash: boolean;
}

const NOT_FOUND = refusal('route_not_found');
const ENCODED_SEPARATOR: Refusal = Object.freeze({ code: 'path_encoded_separator', detail: 'this route does not accept %2F or %5C inside a path segment' });

/** The path part of the request target as sent (origin-form or absolute-form). */
function rawPathOf(url: string): string {
  let start = 0;
  if (url.charCodeAt(0) !== 0x2f) {
    const scheme = url.indexOf('://');
    start = scheme === -1 ? 0 : url.indexOf('/', scheme + 3);
    if (start === -1) return '/';
  }
  const q = url.indexOf('?', start);
  return q === -1 ? url.slice(start) : url.slice(start, q);
}

/** Route `ctx`: the matched route (also set on ctx), or the refusal (404, 405, 400 for a bad target). */
export function routeRequest<R extends RoutableRoute>(table: RouteTable<R>, ctx: RequestContext): R | Refusal {
  const target = parseTarget(ctx.url);
  if (!target.ok) return target;
  ctx.path = ctx.record.path = target.path;
  ctx.query = target.query;
  ctx.rawPath = rawPathOf(ctx.url);
  const host = target.absoluteHost ?? normalizeHost(ctx.headers.host);
  const match = table.match(host, ctx.method, ctx.path);
  if (match.kind === 'not_found') return NOT_FOUND;
  if (match.kind === 'method_not_allowed') return { code: 'method_not_allowed', headers: { allow: match.allow.join(', ') } };
  const route = match.route.value;
  ctx.route = route;
  ctx.record.route = route.name;
  if (target.hasEncodedSeparator && !route.allowEncodedSlash) return ENCODED_SEPARATOR;
  return route;
}
