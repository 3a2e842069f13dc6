/**
 * JWT bearer-token provider: pick the key by the token's unverified header, verify it synchronously
 * with the fast-jwt verifier of that key (which alone parses the claims of a held key's token), judge
 * the issuer (first, on every refusal), map claims, cache successes.
 */
import type { JWTPayload } from 'jose';
import type { Static } from '@sinclair/typebox';
import type { Refusal, ErrorCode } from '../../errors.js';
import type { Identity } from '../../identity/identity.js';
import { identityFromClaims, type ClaimMapping } from '../../identity/claims.js';
import { compilePreset } from '../../identity/presets.js';
import type { TokenRules } from './rules.js';

export type { TokenRules } from './rules.js';
import { parseDuration } from '../../config/units.js';
import { JWT_ALGORITHMS, type OidcProviderSchema } from './schema.js';
import { KeyStore } from './jwks.js';
import { REFETCH, type KeyHealth, type VerifierResolver, type VerifyingKey } from './key-resolver.js';
import { PENDING } from '../authenticator.js';
import { decodeToken, type DecodedToken } from './decode.js';
import { verifierFactory, type ClaimPolicy } from './key-verifier.js';
import { verifierRefusal } from './refusal.js';
import { TokenCache } from './token-cache.js';

/** Everything a JWT provider needs, already parsed. */
export interface JwtProviderOptions {
  readonly name: string;
  readonly issuer: string;
  /** Accepted `aud` values; the token must carry at least one. */
  readonly audience: readonly string[];
  /** Asymmetric JWS algorithms only (HMAC and `none` are refused at construction). */
  readonly algorithms: readonly string[];
  readonly clockSkewSec: number;
  readonly maxTokenAgeSec?: number;
  /** Required JOSE `typ` header, compared as jose does (`at+jwt` equals `application/at+jwt`). */
  readonly typ?: string;
  readonly claims: ClaimMapping;
  /** A remote KeyStore, or a static resolver (development issuer); the provider installs its verifiers in it. */
  readonly keys: VerifierResolver;
  /** Verified-token cache bound; default 10,000. */
  readonly cacheSize?: number;
  /** Provider-specific issuer, audience and claim rules (from a preset). */
  readonly rules?: TokenRules;
}

/** The outcome of one verification: data, never an exception. */
export type VerifyResult = { readonly ok: true; readonly identity: Identity } | { readonly ok: false; readonly refusal: Refusal };

/** A configured issuer of JWT bearer tokens. */
export interface JwtProvider {
  readonly name: string;
  /** The configured issuer (an issuer template for Entra ID multi-tenant apps). */
  readonly issuer: string;
  /** Exact `iss` values this provider accepts; absent means `[issuer]`. */
  readonly issuers?: readonly string[];
  /** Matches accepted template issuers; tried by the bearer authenticator after the exact ones. */
  readonly issuerPattern?: RegExp;
  /** True once the keys were loaded; stays true while the IdP is down (cached keys are used). */
  readonly ready: boolean;
  /** The cached result for a token verified before and still valid; undefined otherwise. */
  cached(token: string): VerifyResult | undefined;
  /** Verify with the keys held now; PENDING when an unknown kid may be fetched (then `verify`). */
  verifyNow(d: DecodedToken): VerifyResult | typeof PENDING;
  /** Verify a decoded token, fetching the key set first when the kid is unknown. */
  verifyDecoded(d: DecodedToken): Promise<VerifyResult>;
  /** Verify a token string: the cache, then one decode, then the keys. */
  verify(token: string): Promise<VerifyResult>;
  /** Key status for readiness/status endpoints (lastFetch, lastError, keyCount). */
  health(): KeyHealth;
  /** Verification counters: full verifications (cache misses) and cache hits. */
  readonly stats: { readonly verifications: number; readonly cacheHits: number; readonly cacheSize: number };
  /** Load the keys; rejects (provider_unavailable) if the first fetch fails, retrying in the background. */
  start(): Promise<void>;
  close(): void;
}

const ALLOWED = new Set<string>(JWT_ALGORITHMS);
const DEFAULT_CACHE_SIZE = 10_000;

const refusals = new Map<ErrorCode, VerifyResult>();
/** Refusals carry no per-token detail, so one frozen object per code serves every request. */
function refuse(code: ErrorCode): VerifyResult {
  let r = refusals.get(code);
  if (r === undefined) {
    r = Object.freeze({ ok: false, refusal: Object.freeze({ code }) });
    refusals.set(code, r);
  }
  return r;
}

const UNKNOWN_ISSUER: Refusal = Object.freeze({ code: 'issuer_unknown' });
const CLAIM_INVALID: Refusal = Object.freeze({ code: 'claim_invalid' });
const ISSUED_IN_FUTURE: Refusal = Object.freeze({ code: 'token_issued_in_future' });

/** A refusal with a detail is per-token data; without one, the shared frozen result serves. */
function fail(refusal: Refusal): VerifyResult {
  return refusal.detail === undefined ? refuse(refusal.code) : Object.freeze({ ok: false, refusal });
}

function checkOptions(opts: JwtProviderOptions): void {
  const bad = opts.algorithms.filter((a) => !ALLOWED.has(a));
  if (opts.algorithms.length === 0 || bad.length > 0) {
    throw new Error(`provider "${opts.name}": algorithms must be a non-empty subset of ${JWT_ALGORITHMS.join(', ')}`);
  }
  if (opts.audience.length === 0) throw new Error(`provider "${opts.name}": audience must not be empty`);
  if (!(opts.clockSkewSec >= 0)) throw new Error(`provider "${opts.name}": clock skew must be >= 0`);
  if (opts.rules?.issuerPattern && !opts.rules.acceptIssuer) throw new Error(`provider "${opts.name}": an issuer pattern needs acceptIssuer`);
}

/** The window [from, until) in which a verified token may be served from the cache. */
function cacheWindow(p: JWTPayload, opts: JwtProviderOptions): { from: number; until: number } {
  let until = p.exp!;
  if (opts.maxTokenAgeSec !== undefined && typeof p.iat === 'number') until = Math.min(until, p.iat + opts.maxTokenAgeSec + opts.clockSkewSec);
  const from = typeof p.nbf === 'number' ? p.nbf - opts.clockSkewSec : -Infinity;
  return { from, until };
}

/** The claim rules the fast-jwt verifiers enforce. */
function claimPolicy(opts: JwtProviderOptions, issuers: readonly string[]): ClaimPolicy {
  const rules = opts.rules ?? {};
  return Object.freeze({
    // A template issuer was decided by acceptIssuer on these same (then signed) bytes.
    ...(rules.issuerPattern ? {} : { issuers: Object.freeze([...issuers]) }),
    ...(rules.checkAudience === false ? {} : { audience: Object.freeze([...opts.audience]) }),
    ...(opts.typ !== undefined ? { typ: opts.typ } : {}),
    ...(opts.maxTokenAgeSec !== undefined ? { maxTokenAgeSec: opts.maxTokenAgeSec } : {}),
    clockSkewSec: opts.clockSkewSec,
  });
}

/** Create a provider from parsed options. */
export function createJwtProvider(opts: JwtProviderOptions): JwtProvider {
  checkOptions(opts);
  const { keys, name, claims } = opts;
  const rules = opts.rules ?? {};
  const issuers = Object.freeze([...(rules.issuers ?? (rules.issuerPattern ? [] : [opts.issuer]))]);
  const exact = new Set(issuers);
  const acceptIssuer = rules.acceptIssuer ?? ((iss: string): Refusal | undefined => (exact.has(iss) ? undefined : UNKNOWN_ISSUER));
  const algorithms: ReadonlySet<string> = new Set(opts.algorithms);
  const policy = claimPolicy(opts, issuers);
  // One synchronous verifier per key, built now and whenever the key set is reloaded.
  keys.useVerifiers(verifierFactory(policy));
  const cache = new TokenCache<VerifyResult>(opts.cacheSize ?? DEFAULT_CACHE_SIZE, (k) => keys.isCurrent(k));
  let verifications = 0;
  const skew = opts.clockSkewSec;

  /**
   * A gateway rule beyond RFC 7519 (fast-jwt checks iat only for a maximum age): an `iat`, when
   * present, is a number and not in the future, so a token cannot claim to be issued later than now.
   */
  function issuedAt(payload: JWTPayload): Refusal | undefined {
    const iat = (payload as { iat?: unknown }).iat;
    if (iat === undefined) return undefined;
    if (typeof iat !== 'number') return CLAIM_INVALID;
    return iat > Date.now() / 1000 + skew ? ISSUED_IN_FUTURE : undefined;
  }

  /** Signature and claims, by the key's fast-jwt verifier; the refusal code when they do not hold. */
  function check(d: DecodedToken, key: VerifyingKey): JWTPayload | ErrorCode {
    try {
      return key.verify(d.token);
    } catch (err) {
      const code = verifierRefusal(err, d.token, d.claims() ?? {}, policy, Date.now());
      if (code === undefined) throw err;
      return code;
    }
  }

  /** The refusal an issuer earns: none for an accepted `iss`; claims that do not decode are malformed. */
  function issuerRefusal(claims: JWTPayload | undefined): VerifyResult | undefined {
    if (claims === undefined) return refuse('token_malformed');
    const wrong = typeof claims.iss === 'string' ? acceptIssuer(claims.iss) : UNKNOWN_ISSUER;
    return wrong === undefined ? undefined : fail(wrong);
  }

  /**
   * A refusal, with the issuer's first: a foreign issuer's token is refused as such, whatever else is
   * wrong with it (the unverified claims are decoded here, on the refusal path only).
   */
  const refused = (d: DecodedToken, result: VerifyResult): VerifyResult => issuerRefusal(d.claims()) ?? result;

  /**
   * Verify `d`; with `refetched`, an unknown kid is refused instead of fetched. With a held key, the
   * claims are parsed once, by the verifier; the issuer is then judged on the verified claims (the same
   * bytes), which answers as judging it first did.
   */
  function verifyNow(d: DecodedToken, refetched = false): VerifyResult | typeof PENDING {
    const { header } = d;
    if (!refetched) verifications++;
    // The key is looked up by alg; everything else about the header is the verifier's to judge.
    if (typeof header.alg !== 'string' || header.alg === '') return refused(d, refuse('token_malformed'));
    if (!algorithms.has(header.alg)) return refused(d, refuse('algorithm_not_allowed'));
    const key = keys.lookup({ kid: header.kid, alg: header.alg });
    if (key === REFETCH) {
      // A foreign issuer's token is refused before an unknown kid of it can trigger a refetch.
      const wrong = issuerRefusal(d.claims());
      if (wrong !== undefined) return wrong;
      return refetched ? refuse('unknown_key') : PENDING;
    }
    if (typeof key === 'string') return refused(d, refuse(key));
    const payload = check(d, key);
    if (typeof payload === 'string') return refused(d, refuse(payload));
    const bad = issuerRefusal(payload);
    if (bad !== undefined) return bad;
    const claimBad = issuedAt(payload) ?? rules.checkClaims?.(payload);
    if (claimBad !== undefined) return fail(claimBad);
    const identity = identityFromClaims(name, payload, claims, 'jwt');
    if (identity === undefined) return refuse('claim_invalid');
    const result: VerifyResult = Object.freeze({ ok: true, identity });
    const { from, until } = cacheWindow(payload, opts);
    cache.set(d.token, result, from, until, key.key, Date.now() / 1000);
    return result;
  }

  async function verifyDecoded(d: DecodedToken): Promise<VerifyResult> {
    const now = verifyNow(d);
    if (now !== PENDING) return now;
    await keys.refresh();
    return verifyNow(d, true) as VerifyResult;
  }

  return {
    name,
    issuer: opts.issuer,
    issuers,
    ...(rules.issuerPattern ? { issuerPattern: rules.issuerPattern } : {}),
    get ready() { return keys.ready; },
    verifyNow: (d) => verifyNow(d),
    verifyDecoded,
    verify(token) {
      const hit = cache.get(token, Date.now() / 1000);
      if (hit !== undefined) return Promise.resolve(hit);
      const d = decodeToken(token);
      return d === undefined ? Promise.resolve(refuse('token_malformed')) : verifyDecoded(d);
    },
    cached: (token) => cache.get(token, Date.now() / 1000),
    health: () => keys.health(),
    get stats() { return { verifications, cacheHits: cache.hits, cacheSize: cache.size }; },
    start: () => keys.start(),
    close: () => { cache.clear(); keys.close(); },
  };
}

const list = (v: string | readonly string[]): readonly string[] => (typeof v === 'string' ? [v] : v);

/** Build from the schema config (OidcProviderSchema static type + name) — parses durations, compiles claim mapping and preset. */
export function jwtProviderFromConfig(name: string, cfg: Static<typeof OidcProviderSchema>): JwtProvider {
  const { claims, rules } = compilePreset(name, cfg);
  const algorithms = cfg.algorithms ?? ['RS256', 'PS256', 'ES256', 'EdDSA'];
  const keys = new KeyStore({
    issuer: cfg.issuer,
    discover: cfg.jwksUri === undefined,
    ...(cfg.jwksUri !== undefined ? { jwksUri: cfg.jwksUri } : {}),
    ...(cfg.ca !== undefined ? { ca: cfg.ca } : {}),
    fetchTimeoutMs: parseDuration(cfg.fetchTimeout ?? '5s'),
    refreshIntervalMs: parseDuration(cfg.refreshInterval ?? '10m'),
    unknownKeyCooldownMs: parseDuration(cfg.unknownKeyCooldown ?? '30s'),
    algorithms,
  });
  return createJwtProvider({
    name,
    issuer: cfg.issuer,
    audience: list(cfg.audience),
    algorithms,
    clockSkewSec: parseDuration(cfg.clockSkew ?? '60s') / 1000,
    ...(cfg.maxTokenAge !== undefined ? { maxTokenAgeSec: parseDuration(cfg.maxTokenAge) / 1000 } : {}),
    ...(cfg.typ !== undefined ? { typ: cfg.typ } : {}),
    claims,
    ...(rules !== undefined ? { rules } : {}),
    keys,
  });
}
