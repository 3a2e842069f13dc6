import type { IncomingHttpHeaders } from 'node:http';
import type { Static } from '@sinclair/typebox';
import type { Identity } from '../identity/identity.js';
import type { ListenSchema } from '../server/schema.js';
import type { IDENTITY_FIELDS, OutboundSchema } from './schema.js';
import type { ClientInfo } from './client.js';
import { forwardedNode, forwardedValue } from './forwarded-header.js';

/** An identity field that can be injected as a header. */
export type IdentityField = (typeof IDENTITY_FIELDS)[number];
/** Which headers tell the upstream about the original request. */
export type ForwardedMode = Static<typeof ListenSchema>['forwardedHeaders'];

/** The outbound settings every upstream kind has (outbound/schema.ts). */
export type OutboundConfig = Static<typeof OutboundSchema>;

/** One upstream's header rules, compiled once. */
export interface HeaderPolicy {
  readonly forwardAuthorization: boolean;
  /** name (lowercase) → identity field. */
  readonly identityHeaders: ReadonlyArray<readonly [name: string, field: IdentityField]>;
  readonly assertionHeader?: string | undefined;
  readonly forwarded: ForwardedMode;
  /** Exact (lowercase) inbound header names never copied upstream; derived from the fields above. */
  readonly strip: ReadonlySet<string>;
}

/** Injected when an upstream configures no `identityHeaders`. */
export const DEFAULT_IDENTITY_HEADERS: ReadonlyArray<readonly [string, IdentityField]> = [
  ['x-gatehouse-subject', 'subject'],
  ['x-gatehouse-provider', 'provider'],
  ['x-gatehouse-issuer', 'issuer'],
  ['x-gatehouse-client-id', 'clientId'],
  ['x-gatehouse-tenant', 'tenant'],
  ['x-gatehouse-roles', 'roles'],
  ['x-gatehouse-groups', 'groups'],
  ['x-gatehouse-scopes', 'scopes'],
  ['x-gatehouse-auth-method', 'authMethod'],
];

export const DEFAULT_ASSERTION_HEADER = 'x-gatehouse-assertion';

/** RFC 9110 §7.6.1 hop-by-hop headers, plus the legacy ones proxies still see (requests and responses). */
export const HOP_BY_HOP: readonly string[] = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'proxy-authenticate'];

/**
 * Headers a client could use to impersonate a user or to mislead the upstream about routing or
 * the client address. `host` is always set by us; `expect` was already answered by our own
 * server (100-continue), and undici refuses to send it.
 */
const SPOOFABLE = [
  'forwarded', 'x-real-ip', 'x-original-url', 'x-original-uri', 'x-rewrite-url', 'x-original-method',
  'x-http-method-override', 'x-client-ip', 'true-client-ip', 'x-remote-user', 'remote-user', 'x-user', 'x-email',
  'host', 'expect',
];
const STRIPPED_PREFIXES = ['x-gatehouse-', 'x-forwarded-', 'x-auth-request-'];
/** Names an identity or assertion header must not take: they frame the message or are set by us. */
const RESERVED = new Set([...HOP_BY_HOP, 'host', 'content-length', 'content-type', 'content-encoding', 'expect', 'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);

function identityHeadersOf(cfg: OutboundConfig): ReadonlyArray<readonly [string, IdentityField]> {
  return cfg.identityHeaders ? Object.entries(cfg.identityHeaders).map(([name, field]) => [name.toLowerCase(), field] as const) : DEFAULT_IDENTITY_HEADERS;
}

function assertionHeaderOf(cfg: OutboundConfig): string | undefined {
  if (cfg.assertion === true) return DEFAULT_ASSERTION_HEADER;
  return cfg.assertion ? (cfg.assertion.header ?? DEFAULT_ASSERTION_HEADER).toLowerCase() : undefined;
}

/** The headers through which this upstream config speaks for the caller (identity headers, the assertion). */
export function speakingHeaders(cfg: OutboundConfig): string[] {
  const names = identityHeadersOf(cfg).map(([name]) => name);
  const assertion = assertionHeaderOf(cfg);
  return assertion === undefined ? names : [...names, assertion];
}

/**
 * Compile an upstream's header rules. `reserved`: every header name the gateway speaks for callers
 * through on any route (plus the operator's own list), stripped here too, so that a public route
 * to a backend cannot carry a forged copy of what an authenticated route to it would set.
 */
export function compileHeaderPolicy(cfg: OutboundConfig, forwarded: ForwardedMode, credentialHeaders: readonly string[] = [], reserved: readonly string[] = []): HeaderPolicy {
  const identityHeaders = identityHeadersOf(cfg);
  const assertionHeader = assertionHeaderOf(cfg);
  const injected = speakingHeaders(cfg);
  // A claim value must never be able to reframe the request (Content-Length...) or redirect it (Host).
  for (const name of injected) if (RESERVED.has(name)) throw new Error(`upstream: "${name}" cannot carry identity (reserved header)`);
  // Credentials meant for the gateway (API key headers, SigV4 session tokens…) stay at the gateway.
  const strip = new Set([...HOP_BY_HOP, ...SPOOFABLE, ...injected, ...reserved.map((h) => h.toLowerCase()), ...(cfg.forwardAuthorization ? [] : credentialHeaders.map((h) => h.toLowerCase()))]);
  if (!cfg.forwardAuthorization) strip.add('authorization');
  return { forwardAuthorization: cfg.forwardAuthorization, identityHeaders, assertionHeader, forwarded, strip };
}

/** What the outbound headers are built from (the RequestContext is one). */
export interface HeaderSource {
  readonly headers: IncomingHttpHeaders;
  readonly client: ClientInfo;
  readonly identity: Identity | undefined;
}

/**
 * Build the upstream request headers: copy inbound except hop-by-hop (including every header the
 * Connection header names), strip spoofable identity/routing headers, then set fresh forwarding
 * headers and identity headers. The upstream sets Host; the assertion step adds the assertion.
 */
export function buildUpstreamHeaders(src: HeaderSource, policy: HeaderPolicy): Record<string, string | string[]> {
  const { headers: inbound, client, identity } = src;
  const out: Record<string, string | string[]> = {};
  const named = connectionTokens(inbound.connection);
  for (const name of Object.keys(inbound)) {
    if (policy.strip.has(name) || hasStrippedPrefix(name) || named?.has(name)) continue;
    const value = inbound[name];
    if (value === undefined) continue;
    if (name === 'cookie') {
      const kept = withoutGatewayCookies(value as string);
      if (kept !== '') out.cookie = kept;
      continue;
    }
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  setForwarding(out, client, policy.forwarded);
  if (identity) setIdentity(out, identity, policy.identityHeaders);
  return out;
}

/** The identity headers alone (a forward-auth answer carries these and nothing of the client's). */
export function identityHeaders(identity: Identity | undefined, policy: HeaderPolicy): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (identity) setIdentity(out, identity, policy.identityHeaders);
  return out;
}

/** Every cookie the gateway sets (sessions, pending sign-ins) is named `__Host-gh_…`: those stay at the gateway. */
const GATEWAY_COOKIE = '__Host-gh_';

/** The Cookie header without the gateway's own cookies (the common header without any is returned as is). */
export function withoutGatewayCookies(header: string): string {
  if (!header.includes(GATEWAY_COOKIE)) return header;
  return header.split(';').map((p) => p.trim()).filter((p) => p !== '' && !p.startsWith(GATEWAY_COOKIE)).join('; ');
}

/** Extra header names the Connection header declares hop-by-hop; undefined in the usual case. */
export function connectionTokens(value: string | undefined): Set<string> | undefined {
  // "keep-alive" / "close" name nothing beyond the always-dropped set: no allocation per request.
  if (value === undefined || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'Close') return undefined;
  return new Set(value.split(',').map((token) => token.trim().toLowerCase()));
}

function hasStrippedPrefix(name: string): boolean {
  // Cheap gate first: every stripped prefix starts with "x-".
  if (name.charCodeAt(0) !== 0x78 || name.charCodeAt(1) !== 0x2d) return false;
  return STRIPPED_PREFIXES.some((prefix) => name.startsWith(prefix));
}

function setForwarding(out: Record<string, string | string[]>, client: ClientInfo, mode: ForwardedMode): void {
  if (mode !== 'forwarded') {
    out['x-forwarded-for'] = client.forwardedFor.join(', ');
    out['x-forwarded-proto'] = client.proto;
    if (client.host !== '') out['x-forwarded-host'] = client.host;
  }
  if (mode !== 'x-forwarded') {
    // The first element describes the client's request (proto, host); the rest are the trusted hops.
    const hops = client.forwardedFor.map((address) => `for=${forwardedNode(address)}`);
    hops[0] += `;proto=${client.proto}${client.host === '' ? '' : `;host=${forwardedValue(client.host)}`}`;
    out.forwarded = hops.join(', ');
  }
}

function setIdentity(out: Record<string, string | string[]>, identity: Identity, headers: HeaderPolicy['identityHeaders']): void {
  for (const [name, field] of headers) {
    const value = identity[field];
    if (value === undefined) continue;
    const text = typeof value === 'string' ? encodeClaim(value, UNSAFE) : value.map((item) => encodeClaim(item, UNSAFE_IN_LIST)).join(',');
    if (text !== '') out[name] = text;
  }
}

/*
 * Identity values come from token claims, i.e. from whoever controls the IdP record. They are sent
 * as printable ASCII: `%`, control characters (CR, LF, NUL...), DEL and non-ASCII are percent-encoded
 * as UTF-8 (encodeURIComponent style, so `é` → `%C3%A9`, CRLF → `%0D%0A`); in list headers (roles,
 * groups, scopes) `,` is encoded too (`%2C`) so the list splits unambiguously. Upstreams decode with
 * decodeURIComponent; clean values pass through unchanged.
 */
const UNSAFE = /[^\x20-\x24\x26-\x7e]/u;
const UNSAFE_IN_LIST = /[^\x20-\x24\x26-\x2b\x2d-\x7e]/u;
const UNSAFE_G = new RegExp(UNSAFE.source, 'gu');
const UNSAFE_IN_LIST_G = new RegExp(UNSAFE_IN_LIST.source, 'gu');

function encodeClaim(value: string, unsafe: RegExp): string {
  if (!unsafe.test(value)) return value;
  return value.replace(unsafe === UNSAFE ? UNSAFE_G : UNSAFE_IN_LIST_G, escapeChar);
}

function escapeChar(char: string): string {
  try {
    return encodeURIComponent(char);
  } catch {
    return '%EF%BF%BD'; // a lone surrogate has no UTF-8 form: send U+FFFD
  }
}
