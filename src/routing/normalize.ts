import type { ErrorCode } from '../errors.js';
import { normalizeHost } from './host.js';

/** A parsed request-target: the normalized path that is both routed on and forwarded, or a refusal. */
export type Target =
  | { ok: true; path: string; query: string; hasEncodedSeparator: boolean; hasDoubleEncoding: boolean; absoluteHost?: string }
  | { ok: false; code: ErrorCode; detail: string };

type Refused = Extract<Target, { ok: false }>;

// Anything that can make the raw path differ from its normalized form. A path without any of these
// is already normalized, so the common case costs one regex test and no allocation.
const NEEDS_WORK = /[^\x21-\x7e]|[%\\;]|\/\/|\/\.\.?(?:\/|$)/;
// Absolute-form (RFC 9112 §3.2.2), as sent to proxies. Only http(s); anything else is not ours.
const ABSOLUTE_FORM = /^https?:\/\/([^/?]*)(.*)$/is;
// Userinfo (`user@host`) is refused: it exists to confuse which host a URL names.
const AUTHORITY = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::[0-9]*)?$/i;

const DOUBLE_ESCAPE = /%25[0-9A-Fa-f]{2}/;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Value of each hex digit (by char code), -1 for non-hex. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX_VALUE[0x30 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX_VALUE[0x41 + i] = 10 + i;
  HEX_VALUE[0x61 + i] = 10 + i;
}

/** RFC 3986 unreserved characters: escaping them changes nothing, so they are always decoded. */
const UNRESERVED = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') UNRESERVED[c.charCodeAt(0)] = 1;

/** Canonical (upper-case) escape of every byte. */
const ESCAPED = Array.from({ length: 256 }, (_, b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`);

// Shared and frozen: refusals are returned on the hot path without allocating.
const refuse = (code: ErrorCode, detail: string): Refused => Object.freeze({ ok: false, code, detail });

const BAD_TARGET = refuse('invalid_request_target', 'the request target must be an origin-form path or an absolute http(s) URL without a fragment');
const BAD_CHAR = refuse('path_invalid_character', 'the path contains a control character, a space, a backslash, a semicolon or an unencoded non-ASCII character');
const BAD_ESCAPE = refuse('path_invalid_encoding', 'the path contains a "%" that is not followed by two hex digits');
const BAD_UTF8 = refuse('path_invalid_encoding', 'a percent-decoded path segment is not valid UTF-8');
const TRAVERSAL = refuse('path_traversal', 'a ".." segment climbs above the root');

/** Parse the raw request-target (req.url from node:http) once and normalize its path. */
export function parseTarget(rawUrl: string): Target {
  if (rawUrl.includes('#')) return BAD_TARGET;
  if (rawUrl.charCodeAt(0) === 0x2f) return withPath(rawUrl, undefined);
  const abs = ABSOLUTE_FORM.exec(rawUrl);
  const authority = abs?.[1];
  if (abs === null || authority === undefined || !AUTHORITY.test(authority)) return BAD_TARGET;
  const rest = abs[2] ?? '';
  const host = normalizeHost(authority);
  if (host === '') return BAD_TARGET;
  if (rest === '') return withPath('/', host);
  return withPath(rest.charCodeAt(0) === 0x3f ? `/${rest}` : rest, host);
}

function withPath(pathAndQuery: string, absoluteHost: string | undefined): Target {
  const q = pathAndQuery.indexOf('?');
  const rawPath = q === -1 ? pathAndQuery : pathAndQuery.slice(0, q);
  const query = q === -1 ? '' : pathAndQuery.slice(q + 1);
  let path = rawPath;
  let hasEncodedSeparator = false;
  // `%25` followed by two hex digits decodes to another escape: a backend that decodes twice sees
  // a different path than the one routed and authorized here (`%252e%252e` → `..`).
  const hasDoubleEncoding = rawPath.includes('%25') && DOUBLE_ESCAPE.test(rawPath);
  if (NEEDS_WORK.test(rawPath)) {
    const normalized = normalizePath(rawPath);
    if (typeof normalized !== 'string') return normalized;
    path = normalized;
    // Only an escape can hide a separator, and canonical escapes are upper-case.
    hasEncodedSeparator = path.includes('%2F') || path.includes('%5C');
  }
  return absoluteHost === undefined
    ? { ok: true, path, query, hasEncodedSeparator, hasDoubleEncoding }
    : { ok: true, path, query, hasEncodedSeparator, hasDoubleEncoding, absoluteHost };
}

/**
 * Decode each segment, then collapse empty segments and resolve `.`/`..` (RFC 3986 §5.2.4, except that
 * climbing above the root is refused instead of clamped: a client doing that is probing).
 */
function normalizePath(raw: string): string | Refused {
  const parts = raw.split('/');
  const out: string[] = [];
  let trailingSlash = false;
  // parts[0] is the empty string before the leading '/'.
  for (let i = 1; i < parts.length; i++) {
    const seg = decodeSegment(parts[i] ?? '');
    if (typeof seg !== 'string') return seg;
    trailingSlash = seg === '' || seg === '.' || seg === '..';
    if (seg === '..') {
      if (out.length === 0) return TRAVERSAL;
      out.pop();
    } else if (!trailingSlash) {
      out.push(seg);
    }
  }
  if (out.length === 0) return '/';
  const joined = `/${out.join('/')}`;
  return trailingSlash ? `${joined}/` : joined;
}

/** Canonicalize one segment's escapes: unreserved decoded, the rest kept with upper-case hex. */
function decodeSegment(seg: string): string | Refused {
  let out = '';
  let highBytes = false;
  for (let i = 0; i < seg.length; i++) {
    const c = seg.charCodeAt(i);
    if (c !== 0x25) {
      // Control chars, space, DEL and raw non-ASCII are never valid unescaped; `\` is a separator
      // on IIS-style servers and `;` starts path parameters that Tomcat/Spring strip.
      if (c <= 0x20 || c >= 0x7f || c === 0x5c || c === 0x3b) return BAD_CHAR;
      out += seg[i];
      continue;
    }
    const hi = HEX_VALUE[seg.charCodeAt(i + 1)] ?? -1;
    const lo = HEX_VALUE[seg.charCodeAt(i + 2)] ?? -1;
    if (hi < 0 || lo < 0) return BAD_ESCAPE;
    const b = hi * 16 + lo;
    if (b < 0x20 || b === 0x7f) return BAD_CHAR;
    if (b >= 0x80) highBytes = true;
    out += UNRESERVED[b] === 1 ? String.fromCharCode(b) : ESCAPED[b];
    i += 2;
  }
  if (highBytes && !isUtf8(seg)) return BAD_UTF8;
  return out;
}

/** Whether the fully percent-decoded bytes of a (syntactically valid) segment are UTF-8. */
function isUtf8(seg: string): boolean {
  const bytes = new Uint8Array(seg.length);
  let n = 0;
  for (let i = 0; i < seg.length; i++) {
    const c = seg.charCodeAt(i);
    if (c === 0x25) {
      bytes[n++] = (HEX_VALUE[seg.charCodeAt(i + 1)] ?? 0) * 16 + (HEX_VALUE[seg.charCodeAt(i + 2)] ?? 0);
      i += 2;
    } else {
      bytes[n++] = c;
    }
  }
  try {
    UTF8.decode(bytes.subarray(0, n));
    return true;
  } catch {
    return false;
  }
}
