/**
 * The narrow interfaces jwt.ts verifies against: remote JWKS (jwks.ts) or the development issuer's
 * single key (dev-issuer.ts). Keys are jose CryptoKeys; each carries a synchronous verifier built
 * once, when the key set is (re)loaded.
 */
import type { CryptoKey, JWTPayload } from 'jose';
import type { ErrorCode } from '../../errors.js';

/** The unverified JOSE header fields a key is looked up by. */
export interface JwsKeyHeader {
  readonly kid?: string;
  readonly alg: string;
}

/** What readiness and status endpoints report about a provider's keys. */
export interface KeyHealth {
  /** Keys were fetched successfully at least once (they are kept even while the IdP is down). */
  readonly ready: boolean;
  /** Epoch ms of the last successful fetch. */
  readonly lastFetch?: number;
  /** Epoch ms of the last fetch attempt, successful or not. */
  readonly lastAttempt?: number;
  /** Safe description of the last failed fetch; cleared by the next success. */
  readonly lastError?: string;
  /** Usable verification keys currently held. */
  readonly keyCount: number;
  /** The `kid`s of the keys held (keys without one are counted, not named). */
  readonly keyIds?: readonly string[];
}

/** Checks one compact JWS with one key, synchronously: its claims, or a thrown fast-jwt TokenError. */
export type TokenVerifier = (token: string) => JWTPayload;

/** Builds the verifier of one key for one algorithm: called when keys are loaded, never per request. */
export type VerifierFactory = (key: CryptoKey, alg: string) => TokenVerifier;

/** A published key and the verifier built for it; `key` identifies it for the verified-token cache. */
export interface VerifyingKey {
  readonly key: CryptoKey;
  readonly verify: TokenVerifier;
}

/** Why no key was found (the refusal code). */
export type KeyMiss = Extract<ErrorCode, 'unknown_key' | 'algorithm_not_allowed' | 'provider_unavailable'>;

/** An unknown kid that may be fetched: refresh, then look up again. */
export const REFETCH = 'refetch';

/** What a JWT provider verifies against: a remote JWKS (jwks.ts) or the dev issuer's one key. */
export interface VerifierResolver {
  readonly ready: boolean;
  /** First load; rejects if it fails (a remote store keeps retrying in the background). */
  start(): Promise<void>;
  /** Use `factory` for the keys held now and for every key loaded later (a resolver serves one provider). */
  useVerifiers(factory: VerifierFactory): void;
  /**
   * The held key for this header with its verifier; the refusal code (unknown_key,
   * algorithm_not_allowed, provider_unavailable); or REFETCH when the kid is unknown and the key set
   * may be fetched again (then `refresh` and look up once more).
   */
  lookup(header: JwsKeyHeader): VerifyingKey | KeyMiss | typeof REFETCH;
  /** Fetch the key set now; concurrent callers share one request. Never rejects. */
  refresh(): Promise<void>;
  /** Whether a key returned earlier is still published; a removed key invalidates cached verifications. */
  isCurrent(key: CryptoKey): boolean;
  health(): KeyHealth;
  close(): void;
}

/** JWK kty (and crv) each asymmetric JWS algorithm needs. HMAC and `none` are absent on purpose. */
const KEY_TYPES: Readonly<Record<string, { kty: string; crv?: string }>> = {
  RS256: { kty: 'RSA' }, RS384: { kty: 'RSA' }, RS512: { kty: 'RSA' },
  PS256: { kty: 'RSA' }, PS384: { kty: 'RSA' }, PS512: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: 'P-256' }, ES384: { kty: 'EC', crv: 'P-384' }, ES512: { kty: 'EC', crv: 'P-521' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
};

/** Whether a key of this kty/crv can verify signatures made with `alg`. */
export function algorithmFitsKey(alg: string, kty: unknown, crv: unknown): boolean {
  const need = Object.hasOwn(KEY_TYPES, alg) ? KEY_TYPES[alg] : undefined;
  return need !== undefined && need.kty === kty && (need.crv === undefined || need.crv === crv);
}
