/**
 * Claim mapping: which claims of a verified token fill the normalized Identity. Compiled once per
 * provider at config load; applied once per verified token (cached identities are reused as is).
 */
import type { Static } from '@sinclair/typebox';
import type { OidcProviderSchema } from '../authn/jwt/schema.js';
import { makeIdentity, type AuthMethod, type Identity } from './identity.js';

/** For each Identity field, the claims (or dotted paths) read, in order. */
export interface ClaimMapping {
  readonly subject: readonly string[];
  readonly roles: readonly string[];
  readonly groups: readonly string[];
  readonly scopes: readonly string[];
  readonly tenant: readonly string[];
  readonly clientId: readonly string[];
}

/** The claim mapping config as the schema admits it (each field a string or a list). */
export type ClaimMappingConfig = NonNullable<Static<typeof OidcProviderSchema>['claims']>;

/** Defaults that fit Keycloak, Auth0, Okta, Entra ID and RFC 9068 access tokens for the common fields. */
export const DEFAULT_CLAIMS: ClaimMapping = Object.freeze({
  subject: Object.freeze(['sub']),
  roles: Object.freeze(['roles']),
  groups: Object.freeze(['groups']),
  scopes: Object.freeze(['scope', 'scp']),
  tenant: Object.freeze(['tid', 'tenant']),
  clientId: Object.freeze(['azp', 'client_id', 'cid', 'appid']),
});

const FIELDS = ['subject', 'roles', 'groups', 'scopes', 'tenant', 'clientId'] as const;

/**
 * Merge a provider's (partial, string-or-list) mapping over `base` (the defaults, or a preset's
 * mapping already merged over them), field by field.
 */
export function compileClaimMapping(partial?: ClaimMappingConfig, base: ClaimMapping = DEFAULT_CLAIMS): ClaimMapping {
  const out: Record<(typeof FIELDS)[number], readonly string[]> = { ...base };
  for (const field of FIELDS) {
    const value = partial?.[field];
    if (value !== undefined) out[field] = Object.freeze(typeof value === 'string' ? [value] : [...value]);
  }
  return Object.freeze(out);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Read `path` from the claims: an exact key wins (namespaced claims such as
 * `https://ns.example/roles` contain dots), otherwise the path is walked segment by segment
 * (`realm_access.roles`), trying longer dotted prefixes as keys too. Own properties only.
 */
export function readClaimPath(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path];
  for (let dot = path.indexOf('.'); dot > 0; dot = path.indexOf('.', dot + 1)) {
    const head = path.slice(0, dot);
    const next = Object.hasOwn(claims, head) ? claims[head] : undefined;
    if (isRecord(next)) {
      const found = readClaimPath(next, path.slice(dot + 1));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function firstString(claims: Readonly<Record<string, unknown>>, paths: readonly string[]): string | undefined {
  for (const path of paths) {
    const value = readClaimPath(claims, path);
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

/** Union of string lists over all paths; a string value is split on whitespace (OAuth `scope`). */
function stringSet(claims: Readonly<Record<string, unknown>>, paths: readonly string[]): readonly string[] {
  const out = new Set<string>();
  for (const path of paths) {
    const value = readClaimPath(claims, path);
    if (typeof value === 'string') {
      for (const item of value.split(/\s+/)) if (item !== '') out.add(item);
    } else if (Array.isArray(value)) {
      for (const item of value) if (typeof item === 'string' && item !== '') out.add(item);
    }
  }
  return Object.freeze([...out]);
}

/** Build the normalized Identity from verified claims. Returns undefined if no subject claim is present. */
export function identityFromClaims(
  provider: string, claims: Record<string, unknown>, mapping: ClaimMapping, authMethod: AuthMethod,
): Identity | undefined {
  const subject = firstString(claims, mapping.subject);
  if (subject === undefined) return undefined;
  return makeIdentity({
    provider,
    issuer: typeof claims.iss === 'string' ? claims.iss : undefined,
    subject,
    clientId: firstString(claims, mapping.clientId),
    tenant: firstString(claims, mapping.tenant),
    roles: stringSet(claims, mapping.roles),
    groups: stringSet(claims, mapping.groups),
    scopes: stringSet(claims, mapping.scopes),
    authMethod,
    claims,
    expiresAt: typeof claims.exp === 'number' ? claims.exp : undefined,
  });
}
