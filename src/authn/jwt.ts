/** JWT bearer-token provider: verify with jose against a key resolver, map claims, cache successes. */
import { decodeJwt, jwtVerify, type CryptoKey, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import type { Static } from '@sinclair/typebox';
import type { Refusal, ErrorCode } from '../errors.js';
import type { Identity } from '../identity/identity.js';
import { identityFromClaims, type ClaimMapping } from '../identity/claims.js';
import { compilePreset } from '../identity/presets.js';
import { parseDuration } from '../config/units.js';
import { JWT_ALGORITHMS, type OidcProviderSchema } from './schema.js';
import { KeyStore } from './jwks.js';
import type { KeyHealth, KeyResolver } from './key-resolver.js';
import { refusalCodeFor } from './jose-refusal.js';
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
  /** A remote KeyStore, or a static resolver (development issuer). */
  readonly keys: KeyResolver;
  /** Verified-token cache bound; default 10,000. */
  readonly cacheSize?: number;
  /** Provider-specific issuer, audience and claim rules (from a preset). */
  readonly rules?: TokenRules;
}

/** Rules beyond the standard checks, built once per provider by a preset (src/identity/presets.ts). */
export interface TokenRules {
  /** Exact `iss` values accepted (default: `issuer`); the bearer authenticator routes tokens on them. */
  readonly issuers?: readonly string[];
  /** Routes tokens whose `iss` matches to this provider (issuer templates); `acceptIssuer` then decides. */
  readonly issuerPattern?: RegExp;
  /** Decides an unverified `iss` before any key lookup, in place of the comparison with `issuers`. */
  readonly acceptIssuer?: (iss: string) => Refusal | undefined;
  /** false: jose does not check `aud` because `checkClaims` checks the audience (Cognito access tokens have none). */
  readonly checkAudience?: boolean;
  /** Checks on the verified claims; refusals carry a caller-facing detail. */
  readonly checkClaims?: (claims: JWTPayload) => Refusal | undefined;
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
  verify(token: string): Promise<VerifyResult>;
  /** Key status for readiness/status endpoints (lastFetch, lastError, keyCount). */
  health(): KeyHealth;
  /** Verification counters: full jose verifications and cache hits. */
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

/** The unverified `iss` (only to route and pre-filter; jwtVerify checks it for real), or null if undecodable. */
function issuerOf(token: string): unknown {
  try {
    return decodeJwt(token).iss;
  } catch {
    return null;
  }
}

/** Create a provider from parsed options. */
export function createJwtProvider(opts: JwtProviderOptions): JwtProvider {
  checkOptions(opts);
  const { keys, name, claims, clockSkewSec } = opts;
  const rules = opts.rules ?? {};
  const issuers = Object.freeze([...(rules.issuers ?? (rules.issuerPattern ? [] : [opts.issuer]))]);
  const exact = new Set(issuers);
  const acceptIssuer = rules.acceptIssuer ?? ((iss: string): Refusal | undefined => (exact.has(iss) ? undefined : UNKNOWN_ISSUER));
  // Built once: jose reads these on every call. A template issuer was checked by acceptIssuer on
  // the same (then verified) payload, so jose is given no issuer for it.
  const verifyOptions: JWTVerifyOptions = Object.freeze({
    ...(rules.issuerPattern ? {} : { issuer: [...issuers] }),
    ...(rules.checkAudience === false ? {} : { audience: [...opts.audience] }),
    algorithms: [...opts.algorithms],
    clockTolerance: clockSkewSec,
    requiredClaims: ['exp'],
    ...(opts.maxTokenAgeSec !== undefined ? { maxTokenAge: opts.maxTokenAgeSec } : {}),
    ...(opts.typ !== undefined ? { typ: opts.typ } : {}),
  });
  // jose checks the allowlist (so `none` and HS* are refused) before it calls this.
  const resolve: JWTVerifyGetKey<CryptoKey> = (header) => keys.getKey({ kid: header.kid, alg: header.alg! });
  const cache = new TokenCache<VerifyResult>(opts.cacheSize ?? DEFAULT_CACHE_SIZE, (k) => keys.isCurrent(k));
  let verifications = 0;

  async function verify(token: string): Promise<VerifyResult> {
    const cached = cache.get(token, Date.now() / 1000);
    if (cached !== undefined) return cached;
    verifications++;
    // A foreign issuer's token is refused before key lookup, so it cannot trigger unknown-kid refetches.
    const unverifiedIssuer = issuerOf(token);
    if (unverifiedIssuer === null) return refuse('token_malformed');
    const wrongIssuer = typeof unverifiedIssuer === 'string' ? acceptIssuer(unverifiedIssuer) : UNKNOWN_ISSUER;
    if (wrongIssuer !== undefined) return fail(wrongIssuer);
    let payload: JWTPayload;
    let key: CryptoKey;
    try {
      ({ payload, key } = await jwtVerify<JWTPayload, CryptoKey>(token, resolve, verifyOptions));
    } catch (err) {
      const code = refusalCodeFor(err);
      if (code === undefined) throw err;
      return refuse(code);
    }
    const now = Date.now() / 1000;
    // jose checks a future iat only together with maxTokenAge; it is refused here in every case.
    if (typeof payload.iat === 'number' && payload.iat > now + clockSkewSec) return refuse('token_issued_in_future');
    const bad = rules.checkClaims?.(payload);
    if (bad !== undefined) return fail(bad);
    const identity = identityFromClaims(name, payload, claims, 'jwt');
    if (identity === undefined) return refuse('claim_invalid');
    const result: VerifyResult = Object.freeze({ ok: true, identity });
    const { from, until } = cacheWindow(payload, opts);
    cache.set(token, result, from, until, key, now);
    return result;
  }

  return {
    name,
    issuer: opts.issuer,
    issuers,
    ...(rules.issuerPattern ? { issuerPattern: rules.issuerPattern } : {}),
    get ready() { return keys.ready; },
    verify,
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
