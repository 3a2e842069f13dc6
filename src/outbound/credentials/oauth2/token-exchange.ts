/**
 * `type: token-exchange`: the caller's bearer token, or the gateway's signed identity assertion for
 * the caller, traded at a token endpoint for a token for this backend: RFC 8693 token exchange, or
 * Microsoft's on-behalf-of flow (`preset: entra-obo`). Cached per subject token, never past the life
 * of either token; concurrent requests of one caller share one exchange.
 */
import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import { parseDuration } from '../../../config/units.js';
import type { Refusal } from '../../../errors.js';
import { bearerToken } from '../../../authn/introspection/introspection.js';
import type { RequestContext } from '../../../pipeline/context.js';
import { ExpiringCache } from '../expiring.js';
import type { CredentialUse, OutboundCredential } from '../credential.js';
import { recordCredential } from '../credential.js';
import { createTokenClient, TokenEndpointError } from './client.js';
import { bearerHeader, unavailable } from './oauth2.js';
import { JWT_BEARER_GRANT, TOKEN_EXCHANGE_GRANT, type TokenExchangeCredentialConfig } from './schema.js';
import { redactor, type OAuth2Context } from './token-source.js';

const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
/** Distinct callers whose exchanged tokens are kept. */
const MAX_CACHED = 10_000;
/** An exchanged token is dropped this long before the subject token expires. */
const SUBJECT_MARGIN_MS = 5_000;
/** When the subject token's expiry cannot be read, an exchanged token is reused at most this long. */
const UNKNOWN_SUBJECT_LIFETIME_MS = 5 * 60_000;

/** How a caller authenticated with the bearer token of the Authorization header. */
const BEARER_METHODS = new Set(['jwt', 'introspection']);
const noToken: Refusal = Object.freeze({ code: 'token_missing', detail: 'this route exchanges the caller\'s token for the backend: send a bearer token in the Authorization header' });

interface Subject {
  readonly token: string;
  /** Epoch ms when the subject token stops working, when known. */
  readonly expiresAt: number | undefined;
}

/** The fixed form parameters of the exchange (all but the subject token). */
function exchangeParams(cfg: TokenExchangeCredentialConfig): { grantType: string; params: Record<string, string>; subjectParam: string } {
  const scope = cfg.scope === undefined ? undefined : typeof cfg.scope === 'string' ? cfg.scope : cfg.scope.join(' ');
  if (cfg.preset === 'entra-obo') {
    if (scope === undefined) throw new Error('token-exchange: `preset: entra-obo` needs `scope` (e.g. api://<backend>/.default)');
    return { grantType: JWT_BEARER_GRANT, params: { requested_token_use: 'on_behalf_of', scope }, subjectParam: 'assertion' };
  }
  const params: Record<string, string> = { subject_token_type: cfg.subjectTokenType ?? ((cfg.subject ?? 'caller-token') === 'assertion' ? JWT_TOKEN_TYPE : ACCESS_TOKEN_TYPE) };
  if (cfg.audience !== undefined) params.audience = cfg.audience;
  if (cfg.resource !== undefined) params.resource = cfg.resource;
  if (scope !== undefined) params.scope = scope;
  if (cfg.requestedTokenType !== undefined) params.requested_token_type = cfg.requestedTokenType;
  return { grantType: TOKEN_EXCHANGE_GRANT, params, subjectParam: 'subject_token' };
}

/** `exp` of a JWT (epoch ms), unverified: only to bound a cache entry. */
function jwtExpiry(token: string): number | undefined {
  try {
    const exp = decodeJwt(token).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

export function createTokenExchangeCredential(cfg: TokenExchangeCredentialConfig, ctx: OAuth2Context): OutboundCredential {
  const subjectKind = cfg.subject ?? 'caller-token';
  if (cfg.preset === 'entra-obo' && subjectKind !== 'caller-token') throw new Error('token-exchange: `preset: entra-obo` exchanges the caller\'s token (`subject: caller-token`)');
  const signer = ctx.signer;
  if (subjectKind === 'assertion' && signer === undefined) throw new Error('token-exchange: `subject: assertion` needs the gateway\'s assertion signer');
  const { grantType, params, subjectParam } = exchangeParams(cfg);
  const client = createTokenClient(cfg, ctx.baseDir, redactor([cfg.clientSecret]));
  const header = bearerHeader(cfg);
  const marginMs = parseDuration(cfg.refreshBefore ?? '60s');
  const assertionAudience = cfg.assertionAudience ?? cfg.tokenUrl ?? cfg.issuer!;
  const assertionTtlSec = Math.max(1, Math.round(parseDuration(cfg.assertionTtl ?? '5m') / 1000));

  // The cache's loader reads the subject of the request that missed; `get` calls it synchronously.
  let handoff: Subject | undefined;
  const cache = new ExpiringCache<{ token: string }>({
    max: MAX_CACHED,
    refreshBeforeMs: 0,
    load: async () => {
      const subject = handoff!;
      handoff = undefined;
      const issued = await client.grant(grantType, { ...params, [subjectParam]: subject.token });
      const subjectEnd = subject.expiresAt ?? Date.now() + UNKNOWN_SUBJECT_LIFETIME_MS;
      return { value: { token: issued.accessToken }, expiresAt: Math.min(issued.expiresAt - marginMs, subjectEnd - SUBJECT_MARGIN_MS) };
    },
  });

  let use: CredentialUse | undefined;
  const used = (): CredentialUse => {
    const tokenUrl = client.tokenUrl;
    if (use?.token_url !== tokenUrl) {
      use = Object.freeze({
        kind: 'token-exchange', client: cfg.clientId, token_url: tokenUrl, subject: subjectKind,
        ...(cfg.preset ? { preset: cfg.preset } : {}), ...(cfg.audience ? { audience: cfg.audience } : {}),
      });
    }
    return use;
  };
  const present = (rctx: RequestContext, token: string): undefined => {
    rctx.outbound!.headers[header] = `Bearer ${token}`;
    recordCredential(rctx, used());
    return undefined;
  };
  const what = (): string => `token-exchange client ${cfg.clientId} at ${client.tokenUrl}`;
  const failed = (err: unknown, subject: string): Refusal => {
    if (err instanceof TokenEndpointError && err.refused) {
      return {
        code: 'token_exchange_refused',
        detail: `the token endpoint refused to exchange the caller's token for this backend (${err.oauthError})`,
        internal: `${what()}: ${err.reason.split(subject).join('REDACTED')}`,
      };
    }
    return unavailable(err, what());
  };
  const exchange = (rctx: RequestContext, key: string, subject: Subject): undefined | Promise<Refusal | undefined> => {
    const cached = cache.peek(key);
    if (cached !== undefined) return present(rctx, cached.token);
    handoff = subject;
    const pending = cache.get(key);
    handoff = undefined;
    return pending.then((v) => present(rctx, v.token), (err: unknown) => failed(err, subject.token));
  };

  return {
    name: 'outbound',
    kind: 'token-exchange',
    run(rctx) {
      const identity = rctx.identity;
      if (subjectKind === 'caller-token') {
        // Only the token that authenticated the caller is theirs to trade (not a bearer token sent beside an API key).
        if (identity !== undefined && !BEARER_METHODS.has(identity.authMethod)) return noToken;
        const token = bearerToken(rctx.headers.authorization as string | undefined);
        if (typeof token !== 'string') return noToken;
        const expiresAt = identity?.expiresAt !== undefined ? identity.expiresAt * 1000 : jwtExpiry(token);
        return exchange(rctx, createHash('sha256').update(token).digest('base64url'), { token, expiresAt });
      }
      if (identity === undefined) return noToken;
      const key = `a\0${identity.key}`;
      const cached = cache.peek(key);
      if (cached !== undefined) return present(rctx, cached.token);
      const reused = signer!.cached(identity, assertionAudience, assertionTtlSec);
      const minted = reused !== undefined ? Promise.resolve(reused) : signer!.mint(identity, assertionAudience, assertionTtlSec);
      return minted.then((assertion) => exchange(rctx, key, { token: assertion, expiresAt: jwtExpiry(assertion) }), (err: unknown) => unavailable(err, 'identity assertion'));
    },
    start: () => client.start(),
    close() {
      client.close();
      cache.clear();
    },
  };
}
