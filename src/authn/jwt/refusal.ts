/**
 * Names what fast-jwt refused with the stable error codes (they are API). fast-jwt decides; this only
 * says which rule it was where one fast-jwt code covers several claims: by its documented order of
 * checks (signature, crit, typ, required claims, then nbf, exp, iat, aud, iss) and the token's claims,
 * which are the signed ones once the signature held.
 */
import { TokenError } from 'fast-jwt';
import type { JWTPayload } from 'jose';
import type { ErrorCode } from '../../errors.js';
import type { ClaimPolicy } from './key-verifier.js';

const codes = TokenError.codes;

const FIXED: ReadonlyMap<string, ErrorCode> = new Map([
  [codes.malformed, 'token_malformed'],
  [codes.invalidPayload, 'token_malformed'],
  [codes.invalidCritHeader, 'token_malformed'],
  [codes.invalidAlgorithm, 'algorithm_not_allowed'],
  [codes.invalidSignature, 'signature_invalid'],
  [codes.missingSignature, 'signature_invalid'],
  // node:crypto threw, e.g. an ECDSA signature of the wrong length.
  [codes.verifyError, 'signature_invalid'],
  [codes.invalidType, 'token_type_invalid'],
  [codes.invalidClaimType, 'claim_invalid'],
  [codes.inactive, 'token_not_yet_valid'],
]);

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const DATE_CLAIMS = ['nbf', 'exp', 'iat'] as const;

/**
 * The code for an error `token`'s verifier threw (its claims: `payload`), or undefined when it is not
 * a verification outcome (a bug, rethrown by the caller).
 */
export function verifierRefusal(err: unknown, token: string, payload: JWTPayload, p: ClaimPolicy, nowMs: number): ErrorCode | undefined {
  if (!(err instanceof TokenError)) return undefined;
  switch (err.code) {
    case codes.invalidSignature: {
      // A signature that is not base64url at all is a malformed token, not a wrong signature.
      const signature = token.slice(token.lastIndexOf('.') + 1);
      return signature.length % 4 === 1 || !BASE64URL.test(signature) ? 'token_malformed' : 'signature_invalid';
    }
    // Required: exp, aud (unless a preset checks the audience), iat (with a maximum age).
    case codes.missingRequiredClaim: return p.audience !== undefined && !Object.hasOwn(payload, 'aud') ? 'audience_mismatch' : 'claim_invalid';
    // An array where a date belongs, or an `aud`/`iss` value that is not accepted (iss was routed on
    // already, so a refused value is the audience).
    case codes.invalidClaimValue: return DATE_CLAIMS.some((c) => Array.isArray(payload[c])) ? 'claim_invalid' : 'audience_mismatch';
    // exp is checked before iat: when exp still holds, the maximum age refused.
    case codes.expired: return typeof payload.exp === 'number' && payload.exp * 1000 + p.clockSkewSec * 1000 >= nowMs ? 'token_too_old' : 'token_expired';
    default: return FIXED.get(err.code);
  }
}
