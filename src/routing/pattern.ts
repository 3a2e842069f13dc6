// Parsing of route match patterns (host and path), shared by the route table and the analyzer.
// Invalid patterns are configuration errors: they throw at load, never on the request path.
import { normalizeHost } from './host.js';
import { parseTarget } from './normalize.js';

/** One fixed segment of a path pattern. */
export type Segment = { readonly kind: 'static'; readonly value: string } | { readonly kind: 'param'; readonly name: string };

/** A parsed path pattern: fixed segments, optionally followed by a trailing `*`. */
export interface PathPattern {
  readonly segments: readonly Segment[];
  readonly wildcard: boolean;
  /** The pattern with parameter names erased (`/u/:/*`): equal shapes match exactly the same paths. */
  readonly shape: string;
}

/** A parsed host pattern; `key` is the canonical text (`''` for any host). */
export type HostPattern =
  | { readonly kind: 'any'; readonly key: '' }
  | { readonly kind: 'exact'; readonly key: string }
  | { readonly kind: 'wildcard'; readonly key: string; readonly suffix: string };

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parse a route's path pattern; throws an Error naming the route when it is invalid. */
export function parsePathPattern(route: string, path: string): PathPattern {
  const fail = (why: string): never => {
    throw new Error(`route "${route}": invalid path pattern "${path}": ${why}`);
  };
  if (!path.startsWith('/')) fail('it must start with "/"');
  // A single trailing slash is ignored when matching, so it is ignored in the pattern too.
  const body = path.length > 1 && path.endsWith('/') ? path.slice(1, -1) : path.slice(1);
  const raw = body === '' ? [] : body.split('/');
  const wildcard = raw[raw.length - 1] === '*';
  if (wildcard) raw.pop();
  const segments = raw.map((seg) => parseSegment(seg, fail));
  const names = segments.flatMap((s) => (s.kind === 'param' ? [s.name] : []));
  if (new Set(names).size !== names.length) fail('a parameter name is used twice');
  const shape = `/${segments.map((s) => (s.kind === 'param' ? ':' : s.value)).concat(wildcard ? ['*'] : []).join('/')}`;
  return { segments, wildcard, shape };
}

function parseSegment(seg: string, fail: (why: string) => never): Segment {
  if (seg === '') return fail('it contains an empty segment ("//")');
  if (seg.includes('*')) return fail('"*" is only allowed as the whole last segment');
  if (seg.includes('?')) return fail('"?" starts the query string; path patterns cannot match on it');
  if (seg === '.' || seg === '..') return fail('"." and ".." segments are resolved before routing');
  if (seg.startsWith(':')) {
    const name = seg.slice(1);
    return PARAM_NAME.test(name) ? { kind: 'param', name } : fail(`"${seg}" is not a valid parameter (letters, digits, _)`);
  }
  // Requests are matched in normalized form, so a static segment must already be normalized or it
  // could never match (e.g. `%61dmin` is routed as `admin`).
  const target = parseTarget(`/${seg}`);
  if (!target.ok) return fail(`segment "${seg}": ${target.detail}`);
  if (target.path !== `/${seg}`) return fail(`segment "${seg}" is not in normalized form; write "${target.path.slice(1)}"`);
  return { kind: 'static', value: seg };
}

/** Parse a route's host pattern (absent: any host); throws an Error naming the route when invalid. */
export function parseHostPattern(route: string, host: string | undefined): HostPattern {
  if (host === undefined) return { kind: 'any', key: '' };
  const key = normalizeHost(host);
  const rest = key.startsWith('*.') ? key.slice(2) : key;
  if (rest === '' || rest.includes('*') || rest.startsWith('.')) {
    throw new Error(`route "${route}": invalid host "${host}": use an exact host or "*.domain" (omit host for any host)`);
  }
  return key === rest ? { kind: 'exact', key } : { kind: 'wildcard', key, suffix: key.slice(1) };
}
