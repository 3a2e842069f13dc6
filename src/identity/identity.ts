/** How a caller proved who it is. Later authenticators (session) add their own. */
export type AuthMethod = 'jwt' | 'apikey' | 'sigv4' | 'mtls' | 'session' | 'introspection';

/**
 * The one normalized shape every authenticator produces and every later stage consumes.
 * Nothing after authentication looks at raw tokens again. Made only by `makeIdentity`.
 */
export interface Identity {
  /** Name of the configured provider that authenticated the caller. */
  readonly provider: string;
  readonly issuer?: string | undefined;
  /** Stable subject (per provider claim mapping; e.g. `sub`, or `oid` for Entra ID). */
  readonly subject: string;
  readonly clientId?: string | undefined;
  readonly tenant?: string | undefined;
  readonly roles: readonly string[];
  readonly groups: readonly string[];
  readonly scopes: readonly string[];
  readonly authMethod: AuthMethod;
  /** Verified claims (never the raw token). */
  readonly claims: Readonly<Record<string, unknown>>;
  /** Expiry as epoch seconds, when the credential has one. */
  readonly expiresAt?: number | undefined;
  /**
   * Everything that is passed on about the caller (identity headers, assertions), as one string:
   * two identities with the same key are interchangeable for caches. Computed once, here.
   */
  readonly key: string;
  /** The identity object of the audit line, serialized once. */
  readonly auditJson: string;
}

/** What an authenticator knows about a caller; `makeIdentity` adds the derived fields. */
export type IdentityFields = Omit<Identity, 'key' | 'auditJson'>;

/** Identities are cached and shared between requests, so nothing downstream may change them. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** The one place identities are made: frozen, with their cache key and audit form computed now. */
export function makeIdentity(f: IdentityFields): Identity {
  const key = JSON.stringify([f.provider, f.issuer, f.subject, f.clientId, f.tenant, f.authMethod, f.roles, f.groups, f.scopes]);
  const auditJson = JSON.stringify({ provider: f.provider, issuer: f.issuer, subject: f.subject, client_id: f.clientId, tenant: f.tenant, auth_method: f.authMethod });
  return deepFreeze({
    provider: f.provider, issuer: f.issuer, subject: f.subject, clientId: f.clientId, tenant: f.tenant,
    roles: f.roles, groups: f.groups, scopes: f.scopes, authMethod: f.authMethod, claims: f.claims, expiresAt: f.expiresAt,
    key, auditJson,
  });
}
