/**
 * What a session keeps: the identity fields policies use (already mapped by the provider's claim
 * mapping at sign-in, so a session identity equals a bearer identity of the same user), a few
 * claims, the refresh token and the lifetimes. Short keys keep the cookie small.
 */
import { makeIdentity, type Identity } from '../../identity/identity.js';
import { identityFromClaims, type ClaimMapping } from '../../identity/claims.js';

/** A session, opened. Times are epoch seconds. */
export interface SessionData {
  readonly sid: string;
  /** Sign-in time (absolute lifetime counts from it). */
  readonly iat: number;
  /** Last time the cookie was re-issued (idle lifetime counts from it). */
  readonly touched: number;
  /** When the provider's tokens expire (refresh before). */
  readonly tokenExp: number;
  readonly refreshToken: string | undefined;
  /** The ID token, kept only when small (logout's `id_token_hint`); otherwise logout sends `client_id`. */
  readonly idToken: string | undefined;
  /** The provider's session id (`sid` of the ID token): back-channel logout names sessions by it. */
  readonly opSid: string | undefined;
  readonly identity: Identity;
}

/** ID tokens larger than this are not kept in the cookie (Entra tokens with many groups are). */
const ID_TOKEN_KEEP_MAX = 2048;
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The identity of validated ID token claims, mapped as the provider maps bearer tokens, or undefined (no subject). */
export function sessionIdentity(provider: string, claims: Record<string, unknown>, mapping: ClaimMapping, keep: KeepRules, tokenExp: number): Identity | undefined {
  const mapped = identityFromClaims(provider, claims, mapping, 'session');
  if (mapped === undefined) return undefined;
  const kept: Record<string, unknown> = { sub: claims.sub, iss: claims.iss };
  for (const name of ['email', 'name', ...keep.claims]) if (claims[name] !== undefined) kept[name] = claims[name];
  const groups = keep.groups === undefined ? mapped.groups : mapped.groups.filter((g) => keep.groups!.has(g));
  return makeIdentity({ ...mapped, groups, claims: kept, expiresAt: tokenExp });
}

/** What a session keeps beyond the identity fields: claims by name, and (when set) only some groups. */
export interface KeepRules {
  readonly claims: readonly string[];
  readonly groups: ReadonlySet<string> | undefined;
}

/** The sealed form. */
export function toPayload(s: SessionData): Record<string, unknown> {
  const id = s.identity;
  return {
    v: 1, sid: s.sid, iat: s.iat, t: s.touched, x: s.tokenExp,
    ...(s.refreshToken !== undefined ? { rt: s.refreshToken } : {}),
    ...(s.idToken !== undefined && s.idToken.length <= ID_TOKEN_KEEP_MAX ? { it: s.idToken } : {}),
    ...(s.opSid !== undefined ? { os: s.opSid } : {}),
    p: id.provider, sub: id.subject, iss: id.issuer, tid: id.tenant, cid: id.clientId,
    r: id.roles, g: id.groups, s: id.scopes, c: id.claims,
  };
}

/** A payload back into a session, or undefined when it is not one of ours for `provider`. */
export function fromPayload(p: Record<string, unknown>, provider: string): SessionData | undefined {
  const sid = str(p.sid), sub = str(p.sub), iat = num(p.iat), touched = num(p.t), tokenExp = num(p.x);
  if (p.v !== 1 || p.p !== provider || sid === undefined || sub === undefined || iat === undefined || touched === undefined || tokenExp === undefined) return undefined;
  const claims = p.c !== null && typeof p.c === 'object' && !Array.isArray(p.c) ? (p.c as Record<string, unknown>) : {};
  const identity = makeIdentity({
    provider, issuer: str(p.iss), subject: sub, clientId: str(p.cid), tenant: str(p.tid),
    roles: strings(p.r), groups: strings(p.g), scopes: strings(p.s), authMethod: 'session', claims, expiresAt: tokenExp,
  });
  return { sid, iat, touched, tokenExp, refreshToken: str(p.rt), idToken: str(p.it), opSid: str(p.os), identity };
}
