/**
 * The request a proxy asks forward-auth to decide, rebuilt from what the proxy sends (docs/forward-auth.md):
 * - nginx `auth_request`: `X-Original-URI` and `X-Original-Method` (set in its config), `X-Forwarded-Host/-Proto/-For`;
 * - Traefik `ForwardAuth` and Caddy `forward_auth`: `X-Forwarded-Method`, `X-Forwarded-Uri`, `X-Forwarded-Host/-Proto/-For`;
 * - Envoy `ext_authz` (HTTP service): the original method, `path_prefix` + the original path and query, the original Host.
 * Only the proxies in `forwardAuth.trustedProxies` are asked about; every source of the method or URI
 * that is present must agree, and a method must be named: nothing is guessed (a `DELETE` decided as a
 * `GET` would let through what the route refuses).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Refusal } from '../errors.js';
import type { Config } from '../config/schema.js';
import { compileTrustedProxies, resolveClient, type TrustedProxies } from '../outbound/client.js';
import type { Exchange } from './exchange.js';

/** The endpoint, compiled from `forwardAuth`. */
export interface ForwardAuthEndpoint {
  /** Path of the endpoint (`/.gatehouse/auth`), without a trailing slash. */
  readonly path: string;
  /** Who may ask, and whose `X-Forwarded-*` describe the decided request. */
  readonly trusted: TrustedProxies;
}

/** The endpoint `config.forwardAuth` asks for (undefined: none). */
export function compileForwardAuth(config: Config): ForwardAuthEndpoint | undefined {
  const fa = config.forwardAuth;
  if (fa === undefined) return undefined;
  return { path: fa.path, trusted: compileTrustedProxies(fa.trustedProxies ?? config.listen!.trustedProxies) };
}

/** Headers that describe the original request to us; they are not part of it. */
const CONTROL = ['x-original-uri', 'x-forwarded-uri', 'x-original-method', 'x-forwarded-method'] as const;
const CONTROL_SET: ReadonlySet<string> = new Set(CONTROL);
/** RFC 9110 §5.6.2 token. */
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;

const UNTRUSTED: Refusal = Object.freeze({ code: 'forward_auth_untrusted_peer', detail: 'this endpoint answers only the proxies listed in forwardAuth.trustedProxies' });
const invalid = (detail: string): Refusal => Object.freeze({ code: 'forward_auth_request_invalid', detail });
const NO_METHOD = invalid('name the original method: X-Original-Method (nginx) or X-Forwarded-Method (Traefik, Caddy)');
const NO_URI = invalid('name the original URI: X-Original-URI (nginx), X-Forwarded-Uri (Traefik, Caddy), or a path below the endpoint (Envoy path_prefix)');
const BAD_METHOD = invalid('the original method is not an HTTP method token');
const BAD_URI = invalid('the original URI must be an origin-form path such as /orders/1?x=y');
const DUPLICATE = invalid('a header describing the original request appears more than once');
const DISAGREE = invalid('the headers describing the original request disagree');

/** Whether `url` is addressed to the endpoint: its path, with or without a query, or below it. */
export function addressedTo(endpoint: ForwardAuthEndpoint, url: string): boolean {
  if (!url.startsWith(endpoint.path)) return false;
  const next = url.charCodeAt(endpoint.path.length);
  return Number.isNaN(next) || next === 0x2f || next === 0x3f;
}

/** The one value of a describing header (undefined: absent), or DUPLICATE. */
function single(raw: readonly string[], name: string): string | undefined | typeof DUPLICATE {
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== name) continue;
    if (value !== undefined) return DUPLICATE;
    value = raw[i + 1]!.trim();
  }
  return value;
}

/** The value all present sources agree on (undefined when none is present), or a refusal. */
function agreed(values: readonly (string | undefined | Refusal)[]): string | undefined | Refusal {
  let found: string | undefined;
  for (const v of values) {
    if (typeof v === 'object') return v;
    if (v === undefined) continue;
    if (found !== undefined && found !== v) return DISAGREE;
    found = v;
  }
  return found;
}

/** The request the proxy describes, as an Exchange the pipeline decides; or why there is none. */
export function describedRequest(endpoint: ForwardAuthEndpoint, exchange: Exchange): Exchange | Refusal {
  if (!endpoint.trusted.isTrusted(exchange.remoteAddress)) return UNTRUSTED;
  const raw = exchange.rawHeaders;
  const below = exchange.url.length > endpoint.path.length && exchange.url.charCodeAt(endpoint.path.length) === 0x2f;
  // Envoy: the path below the endpoint is the original one, and the method and Host are the original ones.
  const suffix = below ? exchange.url.slice(endpoint.path.length) : undefined;
  const uri = agreed([suffix, single(raw, 'x-original-uri'), single(raw, 'x-forwarded-uri')]);
  if (typeof uri === 'object') return uri;
  if (uri === undefined) return NO_URI;
  if (uri.charCodeAt(0) !== 0x2f) return BAD_URI;
  const method = agreed([below ? exchange.method : undefined, single(raw, 'x-original-method'), single(raw, 'x-forwarded-method')]);
  if (typeof method === 'object') return method;
  if (method === undefined) return NO_METHOD;
  if (!METHOD.test(method)) return BAD_METHOD;

  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(exchange.headers)) if (!CONTROL_SET.has(name)) headers[name] = value;
  if (below) delete headers['x-forwarded-host'];
  // The original host: X-Forwarded-Host from a trusted proxy (nginx, Traefik, Caddy), else the Host it sent (Envoy).
  const host = resolveClient(exchange.remoteAddress, exchange.encrypted, headers, endpoint.trusted).host;
  if (host === '') delete headers.host;
  else headers.host = host;
  const rawHeaders: string[] = host === '' ? [] : ['Host', host];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (lower !== 'host' && !CONTROL_SET.has(lower) && !(below && lower === 'x-forwarded-host')) rawHeaders.push(raw[i]!, raw[i + 1]!);
  }
  return new DescribedExchange(exchange, method, uri, headers, rawHeaders);
}

/** The original request as the proxy describes it; everything else (the answer, the body) is the proxy's own request. */
class DescribedExchange implements Exchange {
  constructor(
    private readonly real: Exchange,
    readonly method: string,
    readonly url: string,
    readonly headers: IncomingHttpHeaders,
    readonly rawHeaders: readonly string[],
  ) {}

  get remoteAddress(): string { return this.real.remoteAddress; }
  get encrypted(): boolean { return this.real.encrypted; }
  get tls(): Exchange['tls'] { return this.real.tls; }
  get body(): Exchange['body'] { return this.real.body; }
  get requestComplete(): boolean { return this.real.requestComplete; }
  get headersSent(): boolean { return this.real.headersSent; }
  get closed(): boolean { return this.real.closed; }
  readBody(limit: number): Promise<Buffer> { return this.real.readBody(limit); }
  discardBody(): void { this.real.discardBody(); }
  send(...args: Parameters<Exchange['send']>): number { return this.real.send(...args); }
  writeHead(...args: Parameters<Exchange['writeHead']>): void { this.real.writeHead(...args); }
  write(chunk: Uint8Array): boolean { return this.real.write(chunk); }
  end(): void { this.real.end(); }
  destroy(): void { this.real.destroy(); }
  onDrain(fn: () => void): void { this.real.onDrain(fn); }
  offDrain(fn: () => void): void { this.real.offDrain(fn); }
  onClose(fn: () => void): void { this.real.onClose(fn); }
  offClose(fn: () => void): void { this.real.offClose(fn); }
}
