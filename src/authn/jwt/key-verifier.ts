/**
 * One fast-jwt verifier per published key and algorithm, built when the key set is loaded. It
 * checks the signature with node:crypto synchronously (jose's WebCrypto path costs a threadpool
 * round trip and several promise hand-offs per token) and then the claims.
 */
import { KeyObject } from 'node:crypto';
import { createVerifier, type Algorithm, type VerifierOptions } from 'fast-jwt';
import type { CryptoKey } from 'jose';
import type { ClaimPolicy } from './jwt-checks.js';
import type { TokenVerifier, VerifierFactory } from './key-resolver.js';

/** fast-jwt options for a provider's claim rules (the key and its algorithm are added per key). */
function verifierOptions(p: ClaimPolicy): Partial<VerifierOptions> {
  return {
    // Failures are never cached; successes are cached by jwt.ts (TokenCache, keyed by the full token).
    cache: false,
    // jose understands the b64 extension: headerRefusal refuses every other crit, claimRefusal b64: false.
    allowedCritHeaders: ['b64'],
    // fast-jwt skips aud and maxAge checks when the claim is absent; jose required it.
    requiredClaims: ['exp', ...(p.audience ? ['aud'] : []), ...(p.maxTokenAgeSec !== undefined ? ['iat'] : [])],
    clockTolerance: p.clockSkewSec * 1000,
    ...(p.issuers ? { allowedIss: [...p.issuers] } : {}),
    ...(p.audience ? { allowedAud: [...p.audience] } : {}),
    ...(p.typ !== undefined ? { checkTyp: p.typ } : {}),
    // fast-jwt counts milliseconds from iat and ignores the tolerance; jose refuses once the whole
    // seconds since iat, less the tolerance, exceed the maximum. This bound refuses at that instant.
    ...(p.maxTokenAgeSec !== undefined ? { maxAge: (p.maxTokenAgeSec + p.clockSkewSec + 1) * 1000 - 1 } : {}),
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
