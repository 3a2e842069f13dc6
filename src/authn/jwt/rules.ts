/** Provider-specific token rules, built once per provider by a preset (src/identity/presets.ts). */
import type { JWTPayload } from 'jose';
import type { Refusal } from '../../errors.js';

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
