/**
 * JWT bearer-token provider: route the token on its unverified issuer and header, verify it
 * synchronously with the fast-jwt verifier of its key, map claims, cache successes.
 */
import { decodeJwt, decodeProtectedHeader, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import type { Static } from '@sinclair/typebox';
import { GatehouseError, type Refusal, type ErrorCode } from '../../errors.js';
import type { Identity } from '../../identity/identity.js';
import { identityFromClaims, type ClaimMapping } from '../../identity/claims.js';
import { compilePreset } from '../../identity/presets.js';
import { parseDuration } from '../../config/units.js';
import { JWT_ALGORITHMS, type OidcProviderSchema } from '../schema.js';
import { KeyStore } from './jwks.js';
import type { KeyHealth, VerifierResolver, VerifyingKey } from './key-resolver.js';
import { claimRefusal, headerRefusal, normalizeTyp, type ClaimPolicy } from './jwt-checks.js';
import { verifierFactory } from './key-verifier.js';
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

/** Rules beyond the standard checks, built once per provider by a preset (src/identity/presets.ts). */
export interface TokenRules {
  /** Exact `iss` values accepted (default: `issuer`); the bearer authenticator routes tokens on them. */
  readonly issuers?: readonly string[];
  /** Routes tokens whose `iss` matches to this provider (issuer templates); `acceptIssuer` then decides. */
  readonly issuerPattern?: RegExp;
  /** Decides an unverified `iss` before any key lookup, in place of the comparison with `issuers`. */
  readonly acceptIssuer?: (iss: string) => Refusal | undefined;
  /** false: `aud` is not checked here because `checkClaims` checks the audience (Cognito access tokens have none). */
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
  /** The cached result for a token verified before and still valid, synchronously; undefined otherwise. */
  cached(token: string): VerifyResult | undefined;
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

/** The unverified claims (to route and pre-filter; the verifier checks them for real), or undefined if undecodable. */
function claimsOf(token: string): JWTPayload | undefined {
  try {
    return decodeJwt(token);
  } catch {
    return undefined;
  }
}

/** The unverified protected header (to pick the key), or undefined if undecodable. */
function headerOf(token: string): ProtectedHeaderParameters | undefined {
  try {
    return decodeProtectedHeader(token);
  } catch {
    return undefined;
  }
}

/** Key lookups fail with a GatehouseError carrying the refusal code; anything else is a bug. */
function lookupRefusal(err: unknown): ErrorCode {
  if (err instanceof GatehouseError) return err.code;
  throw err;
}

/** Claim rules shared by the fast-jwt verifiers and by claimRefusal. */
function claimPolicy(opts: JwtProviderOptions, issuers: readonly string[]): ClaimPolicy {
  const rules = opts.rules ?? {};
  return Object.freeze({
    // A template issuer was decided by acceptIssuer on these same (then signed) bytes.
    ...(rules.issuerPattern ? {} : { issuers: new Set(issuers) }),
    ...(rules.checkAudience === false ? {} : { audience: Object.freeze([...opts.audience]) }),
    ...(opts.typ !== undefined ? { typ: normalizeTyp(opts.typ) } : {}),
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

  /** The key for a checked header: a promise only when an unknown kid makes the key store refetch. */
  function keyFor(header: ProtectedHeaderParameters): VerifyingKey | ErrorCode | Promise<VerifyingKey | ErrorCode> {
    try {
      const found = keys.verifierFor({ kid: header.kid, alg: header.alg! });
      return found instanceof Promise ? found.catch(lookupRefusal) : found;
    } catch (err) {
      return lookupRefusal(err);
    }
  }

  /** Signature and claims; the code of jose's first failing check when they do not hold. */
  function check(token: string, header: ProtectedHeaderParameters, unverified: JWTPayload, key: VerifyingKey): JWTPayload | ErrorCode {
    let payload = unverified;
    let stricter: ErrorCode | undefined;
    try {
      payload = key.verify(token);
    } catch (err) {
      const refusal = verifierRefusal(err, token);
      if (refusal === undefined) throw err;
      if (!refusal.afterSignature) return refusal.code;
      // The signature held, so the unverified claims are the signed ones: name the failure as jose did.
      stricter = refusal.code;
    }
    return claimRefusal(header, payload, policy, Date.now()) ?? stricter ?? payload;
  }

  async function verify(token: string): Promise<VerifyResult> {
    const cached = cache.get(token, Date.now() / 1000);
    if (cached !== undefined) return cached;
    verifications++;
    const unverified = claimsOf(token);
    if (unverified === undefined) return refuse('token_malformed');
    // A foreign issuer's token is refused before key lookup, so it cannot trigger unknown-kid refetches.
    const wrongIssuer = typeof unverified.iss === 'string' ? acceptIssuer(unverified.iss) : UNKNOWN_ISSUER;
    if (wrongIssuer !== undefined) return fail(wrongIssuer);
    const header = headerOf(token);
    if (header === undefined) return refuse('token_malformed');
    const badHeader = headerRefusal(header, algorithms);
    if (badHeader !== undefined) return refuse(badHeader);
    const found = keyFor(header);
    const key = found instanceof Promise ? await found : found;
    if (typeof key === 'string') return refuse(key);
    const payload = check(token, header, unverified, key);
    if (typeof payload === 'string') return refuse(payload);
    const bad = rules.checkClaims?.(payload);
    if (bad !== undefined) return fail(bad);
    const identity = identityFromClaims(name, payload, claims, 'jwt');
    if (identity === undefined) return refuse('claim_invalid');
    const result: VerifyResult = Object.freeze({ ok: true, identity });
    const { from, until } = cacheWindow(payload, opts);
    cache.set(token, result, from, until, key.key, Date.now() / 1000);
    return result;
  }

  return {
    name,
    issuer: opts.issuer,
    issuers,
    ...(rules.issuerPattern ? { issuerPattern: rules.issuerPattern } : {}),
    get ready() { return keys.ready; },
    verify,
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
