/** Who is a browser (gets a login redirect or an HTML page) and whether a request is same-origin (CSRF). */
import type { IncomingHttpHeaders } from 'node:http';
import type { ClientInfo } from '../../outbound/client.js';

/** The request's own origin as the browser sees it: the configured `baseUrl`, else scheme and host as trusted proxies report them. */
export function ownOrigin(req: { readonly client?: ClientInfo | undefined }, baseUrl: string | undefined): string {
  if (baseUrl !== undefined) return baseUrl.toLowerCase();
  return `${req.client?.proto ?? 'http'}://${req.client?.host ?? ''}`.toLowerCase();
}

const header = (h: IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/** The q-value of `type` in an Accept header (0 when absent; wildcards do not count). */
function quality(accept: string, type: string): number {
  for (const part of accept.split(',')) {
    const [media, ...params] = part.split(';');
    if (media!.trim().toLowerCase() !== type) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const value = q === undefined ? 1 : Number(q.slice(2));
    return Number.isFinite(value) ? value : 0;
  }
  return 0;
}

/** `Accept` prefers HTML over JSON, and the request is not a script's (`X-Requested-With`). */
export function prefersHtml(headers: IncomingHttpHeaders): boolean {
  if (header(headers, 'x-requested-with') !== undefined) return false;
  const accept = header(headers, 'accept');
  if (accept === undefined) return false;
  const html = Math.max(quality(accept, 'text/html'), quality(accept, 'application/xhtml+xml'));
  return html > 0 && html >= quality(accept, 'application/json') && html >= quality(accept, 'application/problem+json');
}

/** A browser navigation that may be sent to sign in: GET/HEAD, and preferring HTML. */
export function isBrowserNavigation(method: string, headers: IncomingHttpHeaders): boolean {
  return (method === 'GET' || method === 'HEAD') && prefersHtml(headers);
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * Whether a cookie-authenticated request may change state: safe methods always; others need
 * `Sec-Fetch-Site: same-origin|none`, or an `Origin` equal to the gateway's or on the allow-list.
 * A WebSocket upgrade is a GET that opens a two-way channel with the browser's cookies: it gets the
 * same check (a page on another site must not open one: cross-site WebSocket hijacking).
 */
export function sameOrigin(method: string, headers: IncomingHttpHeaders, own: string, allowed: ReadonlySet<string>): boolean {
  if (SAFE_METHODS.has(method) && header(headers, 'upgrade')?.toLowerCase() !== 'websocket') return true;
  const origin = header(headers, 'origin');
  if (origin !== undefined && origin !== 'null') return origin.toLowerCase() === own || allowed.has(origin.toLowerCase());
  const site = header(headers, 'sec-fetch-site');
  return site === 'same-origin' || site === 'none';
}
