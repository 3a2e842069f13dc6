/** How a caller proved who it is. Later authenticators (API key, SigV4, mTLS, session) add their own. */
export type AuthMethod = 'jwt' | 'apikey' | 'sigv4' | 'mtls' | 'session' | 'introspection';

/**
 * The one normalized shape every authenticator produces and every later stage consumes.
 * Nothing after authentication looks at raw tokens again.
 */
export interface Identity {
  /** Name of the configured provider that authenticated the caller. */
  readonly provider: string;
  readonly issuer?: string;
  /** Stable subject (per provider claim mapping; e.g. `sub`, or `oid` for Entra ID). */
  readonly subject: string;
  readonly clientId?: string;
  readonly tenant?: string;
  readonly roles: readonly string[];
  readonly groups: readonly string[];
  readonly scopes: readonly string[];
  readonly authMethod: AuthMethod;
  /** Verified claims (never the raw token). */
  readonly claims: Readonly<Record<string, unknown>>;
  /** Expiry as epoch seconds, when the credential has one. */
  readonly expiresAt?: number;
}
