/**
 * The checks jose's jwtVerify made around the signature, in jose's order, so that each refusal
 * keeps its code now that fast-jwt verifies: header checks before the key lookup, claim checks
 * once the signature holds. fast-jwt makes the claim checks too (key-verifier.ts); these name the
 * refusal as jose did and add the checks fast-jwt does not make (`iat` type, a future `iat`).
 */
import type { JWTPayload } from 'jose';
import type { ErrorCode } from '../../errors.js';

/** The claim rules of one provider, fixed at construction. */
export interface ClaimPolicy {
  /** Exact `iss` values; absent for issuer templates (acceptIssuer alone decides those). */
  readonly issuers?: ReadonlySet<string>;
  /** Accepted `aud` values; absent when a preset checks the audience itself. */
  readonly audience?: readonly string[];
  /** Required `typ`, already normalized by normalizeTyp. */
  readonly typ?: string;
  readonly maxTokenAgeSec?: number;
  readonly clockSkewSec: number;
}

/** jose's `typ` comparison: a value without a slash is an `application/` media type (`at+jwt` = `application/at+jwt`). */
export function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return typ.includes('/') ? lower : `application/${lower}`;
}

/**
 * The refusal for a header jose would not verify: a `crit` extension other than `b64` (the only one
 * jose understands), a `b64` that is not a boolean, a missing `alg`, an `alg` outside the list.
 */
export function headerRefusal(header: Readonly<Record<string, unknown>>, algorithms: ReadonlySet<string>): ErrorCode | undefined {
  const { crit, alg } = header;
  if (crit !== undefined) {
    if (!Array.isArray(crit) || crit.length === 0 || crit.some((name) => name !== 'b64')) return 'token_malformed';
    if (typeof header.b64 !== 'boolean') return 'token_malformed';
  }
  if (typeof alg !== 'string' || alg === '') return 'token_malformed';
  return algorithms.has(alg) ? undefined : 'algorithm_not_allowed';
}

const has = (claims: JWTPayload, name: string): boolean => Object.hasOwn(claims, name);

/** jose's audience rule: a string must be accepted; an array must contain an accepted value. */
function audienceMatches(aud: unknown, accepted: readonly string[]): boolean {
  if (typeof aud === 'string') return accepted.includes(aud);
  return Array.isArray(aud) && accepted.some((a) => aud.includes(a));
}

/** The time checks, jose's way: whole seconds, the skew widening every window. */
function timeRefusal(claims: JWTPayload, p: ClaimPolicy, nowMs: number): ErrorCode | undefined {
  const now = Math.floor(nowMs / 1000);
  const skew = p.clockSkewSec;
  const { iat, nbf, exp } = claims as Record<string, unknown>;
  if (iat !== undefined && typeof iat !== 'number') return 'claim_invalid';
  if (nbf !== undefined && typeof nbf !== 'number') return 'claim_invalid';
  if (typeof nbf === 'number' && nbf > now + skew) return 'token_not_yet_valid';
  if (typeof exp !== 'number') return 'claim_invalid';
  if (exp <= now - skew) return 'token_expired';
  if (p.maxTokenAgeSec !== undefined) {
    const age = now - (iat as number);
    if (age - skew > p.maxTokenAgeSec) return 'token_too_old';
    if (age < -skew) return 'token_issued_in_future';
  }
  // jose checks a future iat only together with maxTokenAge; it is refused here in every case.
  if (typeof iat === 'number' && iat > nowMs / 1000 + skew) return 'token_issued_in_future';
  return undefined;
}

/** The refusal for a token whose signature holds: what jose checked after it, in its order. */
export function claimRefusal(
  header: Readonly<Record<string, unknown>>, claims: JWTPayload, p: ClaimPolicy, nowMs: number,
): ErrorCode | undefined {
  // RFC 7797 unencoded payloads are not JWTs (headerRefusal let only a crit of b64 through).
  if (header.crit !== undefined && header.b64 === false) return 'token_malformed';
  if (p.typ !== undefined && (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== p.typ)) return 'token_type_invalid';
  // Presence first, in jose's order: iss, aud, iat (with a maximum age), exp.
  if (p.issuers !== undefined && !has(claims, 'iss')) return 'issuer_unknown';
  if (p.audience !== undefined && !has(claims, 'aud')) return 'audience_mismatch';
  if (p.maxTokenAgeSec !== undefined && !has(claims, 'iat')) return 'claim_invalid';
  if (!has(claims, 'exp')) return 'claim_invalid';
  if (p.issuers !== undefined && !p.issuers.has(claims.iss as string)) return 'issuer_unknown';
  if (p.audience !== undefined && !audienceMatches(claims.aud, p.audience)) return 'audience_mismatch';
  return timeRefusal(claims, p, nowMs);
}
