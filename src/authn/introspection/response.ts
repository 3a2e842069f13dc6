/** Judge an RFC 7662 introspection response: active, a bearer token, for this API, with a subject. */
import type { ErrorCode } from '../../errors.js';
import type { ClaimMapping } from '../../identity/claims.js';
import { identityFromClaims } from '../../identity/claims.js';
import type { AuthnOutcome } from '../authenticator.js';

/** What judging a response needs, fixed per provider at load. */
export interface ResponsePolicy {
  readonly provider: string;
  /** Accepted `aud` values; empty: any audience. */
  readonly audience: readonly string[];
  readonly claims: ClaimMapping;
  /** Issuer to record when the response names none. */
  readonly issuer?: string;
}

function refuse(provider: string, code: ErrorCode, detail?: string): AuthnOutcome {
  return Object.freeze({ ok: false, refusal: Object.freeze({ code, ...(detail ? { detail } : {}) }), provider });
}

function audienceMatches(aud: unknown, accepted: readonly string[]): boolean {
  if (typeof aud === 'string') return accepted.includes(aud);
  return Array.isArray(aud) && aud.some((a) => typeof a === 'string' && accepted.includes(a));
}

/** The authentication outcome for one response (the caller decides what to cache). */
export function judgeResponse(response: Record<string, unknown>, policy: ResponsePolicy): AuthnOutcome {
  const { provider } = policy;
  if (response.active !== true) return refuse(provider, 'token_inactive', 'the authorization server says the token is not active');
  const type = response.token_type;
  // RFC 7662 token_type is optional; when given it must say bearer (DPoP-bound tokens need a proof this gateway does not check).
  if (type !== undefined && (typeof type !== 'string' || type.toLowerCase() !== 'bearer')) {
    return refuse(provider, 'token_type_invalid', 'the token is not a bearer access token');
  }
  if (response.cnf !== undefined) return refuse(provider, 'token_type_invalid', 'the token is bound to a key or certificate (cnf) and cannot be used as a bearer token');
  if (policy.audience.length > 0 && !audienceMatches(response.aud, policy.audience)) return refuse(provider, 'audience_mismatch');
  const claims = { ...response };
  if (claims.iss === undefined && policy.issuer !== undefined) claims.iss = policy.issuer;
  const identity = identityFromClaims(provider, claims, policy.claims, 'introspection');
  if (identity === undefined) return refuse(provider, 'claim_invalid', 'the introspection response names no subject');
  return Object.freeze({ ok: true, identity });
}
