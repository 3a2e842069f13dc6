/** Maps what a fast-jwt verifier throws onto the stable error codes. */
import { TokenError } from 'fast-jwt';
import type { ErrorCode } from '../../errors.js';

/** A verifier's refusal: its code, and whether the signature had already held (a claim failed). */
export interface VerifierRefusal {
  readonly code: ErrorCode;
  readonly afterSignature: boolean;
}

const before = (code: ErrorCode): VerifierRefusal => Object.freeze({ code, afterSignature: false });
const after = (code: ErrorCode): VerifierRefusal => Object.freeze({ code, afterSignature: true });
const codes = TokenError.codes;

/**
 * fast-jwt checks the algorithm, then the signature, then crit, typ and the claims. Its claim codes
 * do not say which claim failed, so jwt.ts names those refusals with claimRefusal; the codes here
 * are what remains when jose's rules pass and only fast-jwt's stricter ones refuse.
 */
const REFUSALS: ReadonlyMap<string, VerifierRefusal> = new Map([
  [codes.malformed, before('token_malformed')],
  [codes.invalidPayload, before('token_malformed')],
  [codes.invalidAlgorithm, before('algorithm_not_allowed')],
  [codes.invalidSignature, before('signature_invalid')],
  [codes.missingSignature, before('signature_invalid')],
  // node:crypto threw, e.g. an ECDSA signature of the wrong length: WebCrypto answered false.
  [codes.verifyError, before('signature_invalid')],
  [codes.invalidCritHeader, after('token_malformed')],
  [codes.invalidType, after('token_type_invalid')],
  [codes.missingRequiredClaim, after('claim_invalid')],
  [codes.invalidClaimType, after('claim_invalid')],
  [codes.invalidClaimValue, after('claim_invalid')],
  [codes.expired, after('token_expired')],
  [codes.inactive, after('token_not_yet_valid')],
]);

const MALFORMED = before('token_malformed');
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * The refusal for an error `token`'s verifier threw, or undefined when it is not a verification
 * outcome (a bug). fast-jwt reports a signature that is not base64url at all as invalid; jose could
 * not decode it and called the token malformed, so that code is kept.
 */
export function verifierRefusal(err: unknown, token: string): VerifierRefusal | undefined {
  if (!(err instanceof TokenError)) return undefined;
  if (err.code === codes.invalidSignature) {
    const signature = token.slice(token.lastIndexOf('.') + 1);
    if (signature.length % 4 === 1 || !BASE64URL.test(signature)) return MALFORMED;
  }
  return REFUSALS.get(err.code);
}
