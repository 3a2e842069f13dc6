/**
 * Real grant handlers for the in-process oidc-provider, registered with its `registerGrantType`:
 * RFC 8693 token exchange and Microsoft's on-behalf-of flow (the jwt-bearer grant with
 * `requested_token_use=on_behalf_of`). Each verifies the subject token with jose against the JWKS of
 * the issuer it trusts (the OP's own, or an Entra stand-in's), then issues a JWT access token through
 * the OP's own AccessToken model (signed with the OP's keys, so a backend verifies it at the OP's
 * JWKS) for the requested audience, with the subject's `sub` and RFC 8693 `act` naming the client.
 */
import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWTPayload } from 'jose';
import { providerErrors, type GrantContext, type ProviderInstance } from './oidc-provider.js';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** Whose tokens a grant accepts as subjects. */
export interface SubjectTrust {
  readonly jwksUri: string;
  readonly issuer: string;
  /** Required `aud` of the subject token (OBO: the middle-tier API, i.e. the gateway's client id). */
  readonly audience?: string;
}

/** What the handlers saw: the tests count exchanges and look at what was asked. */
export interface GrantLog {
  readonly requests: { grant: string; client: string; sub: string; params: Record<string, string | undefined> }[];
  /** Subjects (`sub`) whose tokens the grants refuse with invalid_grant. */
  readonly refuse: Set<string>;
}

/** Lifetime of issued tokens (s), never past the subject token's `exp`. */
const TTL = 600;

/** `trusted()` is read per request (issuers may be known only once their servers run); the token's `iss` picks one. */
export async function tokenGrants(trusted: () => readonly SubjectTrust[], opts: { ttl?: number } = {}): Promise<{ setup: (p: ProviderInstance) => void; log: GrantLog }> {
  const errors = await providerErrors();
  const keysets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  const log: GrantLog = { requests: [], refuse: new Set() };
  /** invalid_grant with our description (oidc-provider's own says only "grant request is invalid"). */
  const refuse = (description: string): Error => Object.assign(new errors.InvalidGrant!(), { error_description: description });

  const verifySubject = async (token: string | undefined): Promise<JWTPayload> => {
    if (!token) throw new errors.InvalidRequest!('missing subject token');
    try {
      const iss = decodeJwt(token).iss;
      const trust = trusted().find((t) => t.issuer === iss);
      if (trust === undefined) throw new Error(`issuer ${String(iss)} is not trusted`);
      let keys = keysets.get(trust.jwksUri);
      if (keys === undefined) keysets.set(trust.jwksUri, (keys = createRemoteJWKSet(new URL(trust.jwksUri))));
      const { payload } = await jwtVerify(token, keys, { issuer: trust.issuer, ...(trust.audience ? { audience: trust.audience } : {}) });
      return payload;
    } catch (err) {
      throw refuse(`subject token not accepted: ${(err as Error).message}`);
    }
  };

  const issue = async (provider: ProviderInstance, ctx: GrantContext, subject: JWTPayload, audience: string, scope: string | undefined): Promise<void> => {
    const client = ctx.oidc.client;
    const now = Math.floor(Date.now() / 1000);
    const ttl = Math.max(1, Math.min(opts.ttl ?? TTL, (subject.exp ?? now + TTL) - now));
    const token = new provider.AccessToken({ accountId: subject.sub, client, scope, gty: 'token-exchange', extra: { act: { sub: client.clientId } } });
    token.resourceServer = { audience, scope: scope ?? '', accessTokenFormat: 'jwt', accessTokenTTL: ttl, jwt: { sign: { alg: 'RS256' } } };
    const value = await token.save();
    ctx.body = { access_token: value, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: ttl, ...(scope ? { scope } : {}) };
  };

  const setup = (provider: ProviderInstance): void => {
    provider.registerGrantType(TOKEN_EXCHANGE, async (ctx) => {
      const p = ctx.oidc.params;
      const subject = await verifySubject(p.subject_token);
      log.requests.push({ grant: TOKEN_EXCHANGE, client: ctx.oidc.client.clientId, sub: String(subject.sub), params: { ...p } });
      if (p.subject_token_type !== 'urn:ietf:params:oauth:token-type:access_token' && p.subject_token_type !== 'urn:ietf:params:oauth:token-type:jwt') {
        throw new errors.InvalidRequest!('unsupported subject_token_type');
      }
      if (log.refuse.has(String(subject.sub))) throw refuse('this subject may not have a token for that audience');
      const audience = p.audience ?? p.resource;
      if (!audience) throw new errors.InvalidTarget!('audience or resource required');
      await issue(provider, ctx, subject, audience, p.scope);
    }, ['subject_token', 'subject_token_type', 'audience', 'resource', 'scope', 'requested_token_type', 'actor_token', 'actor_token_type']);

    provider.registerGrantType(JWT_BEARER, async (ctx) => {
      const p = ctx.oidc.params;
      if (p.requested_token_use !== 'on_behalf_of') throw new errors.InvalidRequest!('requested_token_use must be on_behalf_of');
      const subject = await verifySubject(p.assertion);
      log.requests.push({ grant: JWT_BEARER, client: ctx.oidc.client.clientId, sub: String(subject.sub), params: { ...p } });
      if (log.refuse.has(String(subject.sub))) throw refuse('AADSTS65001: The user or administrator has not consented to use the application.');
      // Entra: scope `api://backend/.default` → a token whose aud is `api://backend`.
      const scope = p.scope ?? '';
      const audience = /^(.+)\/\.default$/.exec(scope.split(' ')[0] ?? '')?.[1];
      if (!audience) throw new errors.InvalidScope!('scope must name a resource (…/.default)');
      await issue(provider, ctx, subject, audience, scope);
    }, ['assertion', 'scope', 'requested_token_use']);
  };
  return { setup, log };
}
