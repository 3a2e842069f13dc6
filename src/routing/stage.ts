/** The route stage: parse and normalize the request target, match host, method and path. */
import { refusal, type Refusal } from '../errors.js';
import type { RequestContext, RouteView } from '../pipeline/context.js';
import { parseTarget } from './normalize.js';
import { normalizeHost, type RouteTable } from './table.js';

/** A route as routing needs it. */
export interface RoutableRoute extends RouteView {
  /** Accept `%2F` / `%5C` inside a path segment. */
  readonly allowEncodedSlash: boolean;
  /** Accept `%25` followed by two hex digits (an escaped escape). */
  readonly allowEncodedPercent: boolean;
  /** The route proxies WebSocket upgrades (`websocket` set). */
  readonly acceptsWebSocket: boolean;
}

const NOT_FOUND = refusal('route_not_found');
const DOUBLE_ENCODING: Refusal = Object.freeze({ code: 'path_double_encoding', detail: 'this route does not accept %25 followed by two hex digits (a backend that decodes twice would see another path)' });
const UPGRADE: Refusal = Object.freeze({ code: 'upgrade_not_supported', detail: 'this route does not proxy protocol upgrades' });
const HANDSHAKE: Refusal = Object.freeze({ code: 'websocket_handshake_invalid', detail: 'a WebSocket handshake is a GET with Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key of 16 bytes in base64' });
/** RFC 6455 §4.1: the key is 16 random bytes, base64-encoded. */
const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{21}[AQgw]==$/;

/** An upgrade the route cannot take, or a WebSocket handshake that is not one; undefined when it may go on. */
function upgradeRefusal(ctx: RequestContext, route: RoutableRoute): Refusal | undefined {
  const upgrade = ctx.headers.upgrade;
  if (upgrade === undefined) return undefined;
  const protocol = upgrade.trim().toLowerCase();
  // An h2c upgrade may be ignored by the server (RFC 9113 §3.1): the request is served as HTTP/1.1.
  if (protocol === 'h2c') return undefined;
  // Any other upgrade is refused unless the route proxies WebSockets: never turned into a plain request.
  if (protocol !== 'websocket' || !route.acceptsWebSocket) return UPGRADE;
  const key = ctx.headers['sec-websocket-key'];
  if (ctx.method !== 'GET' || ctx.headers['sec-websocket-version'] !== '13' || key === undefined || !WEBSOCKET_KEY.test(key)) return HANDSHAKE;
  return undefined;
}

/**
 * Headers whose repetition changes meaning (RFC 9112 §3.2: one Host; one credential): Node keeps the
 * first of them silently, a backend may read the last. Bit per name, to scan without allocating.
 */
const SINGLETONS = new Map<string, number>([['host', 1], ['authorization', 2], ['x-amz-date', 4], ['x-amz-security-token', 8], ['x-amz-content-sha256', 16]]);
const SINGLETON_LENGTHS = new Set([...SINGLETONS.keys()].map((k) => k.length));
const duplicates = new Map<string, Refusal>([...SINGLETONS.keys()].map((name) => [name, Object.freeze({ code: 'header_duplicated' as const, detail: `the ${name} header appears more than once` })]));

/** The refusal for the first singleton header that appears twice, if any. */
function duplicated(raw: readonly string[]): Refusal | undefined {
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (!SINGLETON_LENGTHS.has(name.length)) continue;
    const lower = name.toLowerCase();
    const bit = SINGLETONS.get(lower);
    if (bit === undefined) continue;
    if ((seen & bit) !== 0) return duplicates.get(lower);
    seen |= bit;
  }
  return undefined;
}
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

const AUTHORITY: Refusal = Object.freeze({ code: 'authority_mismatch', detail: 'the Host header names another authority than :authority' });

/** The port of a Host/:authority value, '' when none is given. */
function portOf(value: string): string {
  const colon = value.lastIndexOf(':');
  return colon === -1 || colon < value.lastIndexOf(']') ? '' : value.slice(colon + 1);
}

/** HTTP/2 (RFC 9113 §8.3.1): a Host that identifies another entity than :authority makes the request malformed. */
function authorityMismatch(authority: string | undefined, host: string | undefined): boolean {
  if (authority === undefined || host === undefined || host === authority) return false;
  if (normalizeHost(host) !== normalizeHost(authority)) return true;
  const [a, b] = [portOf(authority.trim()), portOf(host.trim())];
  return a !== '' && b !== '' && a !== b;
}

/** Route `ctx`: the matched route (also set on ctx), or the refusal (404, 405, 400 for a bad target). */
export function routeRequest<R extends RoutableRoute>(table: RouteTable<R>, ctx: RequestContext): R | Refusal {
  const twice = duplicated(ctx.rawHeaders);
  if (twice !== undefined) return twice;
  if (authorityMismatch(ctx.exchange.authority, ctx.headers.host)) return AUTHORITY;
  const target = parseTarget(ctx.url);
  if (!target.ok) return target;
  ctx.path = ctx.record.path = target.path;
  ctx.query = ctx.record.query = target.query;
  ctx.rawPath = rawPathOf(ctx.url);
  const host = target.absoluteHost ?? normalizeHost(ctx.headers.host);
  const match = table.match(host, ctx.method, ctx.path);
  if (match.kind === 'not_found') return NOT_FOUND;
  if (match.kind === 'method_not_allowed') return { code: 'method_not_allowed', headers: { allow: match.allow.join(', ') } };
  const route = match.route.value;
  ctx.route = route;
  ctx.params = match.params;
  ctx.record.route = route.name;
  if (target.hasEncodedSeparator && !route.allowEncodedSlash) return ENCODED_SEPARATOR;
  if (target.hasDoubleEncoding && !route.allowEncodedPercent) return DOUBLE_ENCODING;
  return upgradeRefusal(ctx, route) ?? route;
}
