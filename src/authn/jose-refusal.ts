/** Maps what jose (and the key resolver) throw during verification onto the stable error codes. */
import { errors } from 'jose';
import { GatehouseError, type ErrorCode } from '../errors.js';

/** A claim check that failed on a present, well-typed claim (as opposed to missing/invalid). */
const isValueFailure = (reason: string): boolean => reason !== 'missing' && reason !== 'invalid';

function claimCode(claim: string, reason: string): ErrorCode {
  switch (claim) {
    case 'aud': return 'audience_mismatch';
    case 'iss': return 'issuer_unknown';
    case 'typ': return 'token_type_invalid';
    case 'nbf': return isValueFailure(reason) ? 'token_not_yet_valid' : 'claim_invalid';
    case 'iat': return isValueFailure(reason) ? 'token_issued_in_future' : 'claim_invalid';
    default: return 'claim_invalid';
  }
}

/**
 * The refusal code for an error thrown by jwtVerify, or undefined when it is not a verification
 * outcome at all (a bug), which the caller rethrows.
 */
export function refusalCodeFor(err: unknown): ErrorCode | undefined {
  if (err instanceof GatehouseError) return err.code;
  if (err instanceof errors.JOSEError) {
    switch (err.code) {
      case 'ERR_JWT_EXPIRED': {
        // jose reports maxTokenAge violations as JWTExpired on the iat claim.
        const { claim } = err as errors.JWTExpired;
        return claim === 'iat' ? 'token_too_old' : 'token_expired';
      }
      case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
        const { claim, reason } = err as errors.JWTClaimValidationFailed;
        return claimCode(claim, reason);
      }
      case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED': return 'signature_invalid';
      case 'ERR_JOSE_ALG_NOT_ALLOWED': return 'algorithm_not_allowed';
      // NOT_SUPPORTED: an unrecognised `crit` extension (the alg allowlist is checked before it matters).
      case 'ERR_JWS_INVALID': case 'ERR_JWT_INVALID': case 'ERR_JOSE_NOT_SUPPORTED': return 'token_malformed';
      case 'ERR_JWKS_NO_MATCHING_KEY': case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS': return 'unknown_key';
      case 'ERR_JWKS_TIMEOUT': case 'ERR_JWKS_INVALID': return 'provider_unavailable';
      default: return undefined;
    }
  }
  // jose throws TypeError when a resolved key cannot serve the algorithm; our key store prevents
  // that, so if it happens anyway the token does not verify.
  if (err instanceof TypeError) return 'signature_invalid';
  return undefined;
}
