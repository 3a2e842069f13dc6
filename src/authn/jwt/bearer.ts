/** The route-level bearer-token authenticator: find the token, pick the provider by `iss`, verify. */
import type { JwtProvider, VerifyResult } from './provider.js';
import { ABSENT, PENDING, type AuthnOutcome, type Authenticator, type AuthnRequest as FullAuthnRequest, type UnverifiedClaims } from '../authenticator.js';
import { decodeToken, JWT_SHAPE, type DecodedToken } from './decode.js';

/** The subset of the request a bearer authenticator reads. */
export type AuthnRequest = Pick<FullAuthnRequest, 'headers' | 'query'>;

export type { AuthnOutcome, Authenticator };

/** Where a route accepts bearer tokens. */
export interface TokenSource {
  header: boolean;
  query?: string;
  cookie?: string;
}

/** RFC 6750's query parameter name: seen on a route that does not accept it, it is refused, not ignored. */
const STANDARD_QUERY = 'access_token';

const malformed: AuthnOutcome = Object.freeze({ ok: false, refusal: Object.freeze({ code: 'token_malformed' }) });
const ambiguous: AuthnOutcome = Object.freeze({ ok: false, refusal: Object.freeze({ code: 'token_malformed', detail: 'different tokens (or the token cookie twice) in the places this route accepts' }) });
const wrongPlace: AuthnOutcome = Object.freeze({ ok: false, refusal: Object.freeze({ code: 'token_location_not_allowed' }) });

type Found = string | AuthnOutcome | undefined;

/** `Bearer <token>`: scheme case-insensitive, exactly one token. Other schemes are not ours. */
function fromAuthorization(value: string | undefined): Found {
  if (value === undefined) return undefined;
  const text = value.trim();
  const sp = text.search(/[ \t]/);
  const scheme = sp < 0 ? text : text.slice(0, sp);
  if (scheme.toLowerCase() !== 'bearer') return undefined;
  const token = sp < 0 ? '' : text.slice(sp + 1).trim();
  return token === '' || /\s/.test(token) ? malformed : token;
}

function queryParams(query: string, name: string): URLSearchParams | undefined {
  // Cheap pre-check so the common request without a token parameter parses nothing.
  if (!query.includes(name)) return undefined;
  return new URLSearchParams(query.startsWith('?') ? query.slice(1) : query);
}

function fromQuery(params: URLSearchParams | undefined, name: string): Found {
  const values = params?.getAll(name) ?? [];
  if (values.length === 0) return undefined;
  return values.length > 1 || values[0] === '' ? malformed : values[0];
}

/** The token cookie; a cookie of that name sent twice is ambiguous (which one would a backend read?). */
function fromCookie(header: string | undefined, name: string): Found {
  if (header === undefined || !header.includes(name)) return undefined;
  let found: Found;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    if (found !== undefined) return ambiguous;
    const value = pair.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    found = value === '' ? malformed : value;
  }
  return found;
}

/** The issuer and tenant a refused token claims (unverified; strings only). */
function unverifiedClaims(d: DecodedToken): UnverifiedClaims {
  const { iss, tid, tenant } = (d.claims() ?? {}) as { iss?: unknown; tid?: unknown; tenant?: unknown };
  const t = typeof tid === 'string' ? tid : typeof tenant === 'string' ? tenant : undefined;
  return { ...(typeof iss === 'string' ? { issuer: iss } : {}), ...(t !== undefined ? { tenant: t } : {}) };
}

/** One token from two places: the same, or an ambiguity. */
function agree(found: Found, other: Found): Found {
  return other === undefined ? found : found === undefined || found === other ? other : ambiguous;
}

/** The token from the places the route accepts; a refusal if it only sits where it is not accepted. */
function extract(req: AuthnRequest, source: TokenSource): Found {
  const header = fromAuthorization(req.headers.authorization);
  // Each accepted place that carries a token; two that disagree leave it open which caller this is.
  let found: Found = source.header ? header : undefined;
  if (source.query !== undefined) found = agree(found, fromQuery(queryParams(req.query, source.query), source.query));
  if (source.cookie !== undefined) found = agree(found, fromCookie(req.headers.cookie, source.cookie));
  if (found !== undefined) return found;
  if (header !== undefined) return wrongPlace;
  if (source.query !== STANDARD_QUERY && queryParams(req.query, STANDARD_QUERY)?.has(STANDARD_QUERY)) return wrongPlace;
  return undefined;
}

/**
 * Create the bearer authenticator of one route; providers are told apart by the token's `iss`: the
 * exact issuers first, then issuer templates (no trial verification against every provider).
 */
export function createBearerAuthenticator(providers: readonly JwtProvider[], source: TokenSource, opts: { opaqueNotMine?: boolean } = {}): Authenticator {
  if (providers.length === 0) throw new Error('a bearer authenticator needs at least one provider');
  const byIssuer = new Map<string, JwtProvider>();
  for (const p of providers) {
    for (const iss of p.issuers ?? [p.issuer]) {
      if (byIssuer.has(iss)) throw new Error(`providers "${byIssuer.get(iss)!.name}" and "${p.name}" share the issuer ${iss}`);
      byIssuer.set(iss, p);
    }
  }
  // Issuer templates (Entra ID multi-tenant): tried in order after the exact map, one regex test each.
  const templates = providers.filter((p) => p.issuerPattern !== undefined);
  templates.forEach((p, i) => {
    const twin = templates.slice(0, i).find((q) => q.issuerPattern!.source === p.issuerPattern!.source);
    if (twin) throw new Error(`providers "${twin.name}" and "${p.name}" share the issuer ${p.issuer}`);
  });
  // One provider: its own `iss` check answers issuer_unknown, no need to decode twice.
  const only = providers.length === 1 ? providers[0] : undefined;
  const unknownIssuer: AuthnOutcome = Object.freeze({ ok: false, refusal: Object.freeze({ code: 'issuer_unknown' }) });

  /** The provider by the token's unverified `iss` (decoded once, here, when there is more than one). */
  function pick(d: DecodedToken): JwtProvider | AuthnOutcome {
    if (only !== undefined) return only;
    const claims = d.claims();
    if (claims === undefined) return malformed;
    const iss = claims.iss;
    if (typeof iss !== 'string') return unknownIssuer;
    return byIssuer.get(iss) ?? templates.find((p) => p.issuerPattern!.test(iss)) ?? unknownIssuer;
  }

  // A token whose claims do not decode is refused as malformed, by no provider (as when it is picked).
  const named = (provider: JwtProvider, result: VerifyResult, d: DecodedToken): AuthnOutcome =>
    (result.ok ? result : d.claims() === undefined ? malformed : { ok: false, refusal: result.refusal, provider: provider.name, unverified: unverifiedClaims(d) });

  /** The token's provider and its decoded form, an outcome that needs no key, or ABSENT. */
  function locate(req: AuthnRequest): { provider: JwtProvider; d: DecodedToken } | AuthnOutcome | typeof ABSENT {
    const found = extract(req, source);
    if (found === undefined) return ABSENT;
    if (typeof found !== 'string') return found;
    // With an introspection provider on the route, opaque tokens are its to decide.
    if (opts.opaqueNotMine && !JWT_SHAPE.test(found)) return ABSENT;
    // A token verified before is answered without decoding it again (the cache holds successes
    // only, keyed by the whole token; its issuer picked the provider then).
    for (let i = 0; i < providers.length; i++) {
      const hit = providers[i]!.cached(found);
      if (hit !== undefined && hit.ok) return hit;
    }
    const d = decodeToken(found);
    if (d === undefined) return malformed;
    const provider = pick(d);
    if (provider === malformed) return malformed;
    return 'verify' in provider ? { provider, d } : { ...provider, unverified: unverifiedClaims(d) } as AuthnOutcome;
  }

  return {
    kind: 'bearer',
    credentialHeaders: ['authorization'],
    hint: 'a bearer token in the Authorization header',
    bearer: true,
    // The providers are started, counted ready and closed by the runtime, once each.
    get ready() { return providers.every((p) => p.ready); },
    start: () => Promise.resolve(),
    close: () => undefined,
    probe(req) {
      const at = locate(req);
      if (at === ABSENT || !('d' in at)) return at;
      const result = at.provider.verifyNow(at.d);
      return result === PENDING ? PENDING : named(at.provider, result, at.d);
    },
    async authenticate(req) {
      const at = locate(req);
      if (at === ABSENT || !('d' in at)) return at;
      return named(at.provider, await at.provider.verifyDecoded(at.d), at.d);
    },
  };
}
