/**
 * One fast-jwt verifier per published key and algorithm, built when the key set is loaded. fast-jwt
 * is the one library that checks a token: the signature with node:crypto, synchronously (jose's
 * WebCrypto path costs a threadpool round trip and several promise hand-offs per token), then the
 * `crit`, `typ` and registered claims. Nothing here re-checks what it decided.
 */
import { KeyObject } from 'node:crypto';
import { createVerifier, type Algorithm, type VerifierOptions } from 'fast-jwt';
import type { CryptoKey } from 'jose';
import type { TokenVerifier, VerifierFactory } from './key-resolver.js';

/** The claim rules of one provider, fixed at construction. */
export interface ClaimPolicy {
  /** Exact `iss` values; absent for issuer templates (the provider's acceptIssuer decides those). */
  readonly issuers?: readonly string[];
  /** Accepted `aud` values; absent when a preset checks the audience itself. */
  readonly audience?: readonly string[];
  /** Required JOSE `typ`. */
  readonly typ?: string;
  readonly maxTokenAgeSec?: number;
  readonly clockSkewSec: number;
}

/** fast-jwt options for a provider's claim rules (the key and its algorithm are added per key). */
function verifierOptions(p: ClaimPolicy): Partial<VerifierOptions> {
  return {
    // Failures are never cached; successes are cached by provider.ts (TokenCache, keyed by the full token).
    cache: false,
    // No JWS extension is understood, so a token that names one as critical is refused (RFC 7515 §4.1.11).
    allowedCritHeaders: [],
    // fast-jwt skips the aud and maxAge checks when the claim is absent: require them.
    requiredClaims: ['exp', ...(p.audience ? ['aud'] : []), ...(p.maxTokenAgeSec !== undefined ? ['iat'] : [])],
    clockTolerance: p.clockSkewSec * 1000,
    ...(p.issuers ? { allowedIss: [...p.issuers] } : {}),
    ...(p.audience ? { allowedAud: [...p.audience] } : {}),
    ...(p.typ !== undefined ? { checkTyp: p.typ } : {}),
    ...(p.maxTokenAgeSec !== undefined ? { maxAge: (p.maxTokenAgeSec + p.clockSkewSec) * 1000 } : {}),
  };
}

/** The factory a JWT provider gives its key resolver. */
export function verifierFactory(policy: ClaimPolicy): VerifierFactory {
  const options = Object.freeze(verifierOptions(policy));
  return (key: CryptoKey, alg: string): TokenVerifier => {
    // fast-jwt takes PEM; it parses it once, here, and never again per token. A PEM is never empty,
    // so fast-jwt's keyless (unsigned-token) mode cannot be reached.
    const pem = KeyObject.from(key).export({ type: 'spki', format: 'pem' }).toString();
    if (pem === '') throw new Error('empty public key');
    return createVerifier({ ...options, key: pem, algorithms: [alg as Algorithm] });
  };
}
