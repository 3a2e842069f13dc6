/**
 * Sign-in to the dashboard with an OpenID provider: authorization code + PKCE (S256), state and
 * nonce, through the browser SSO's relying party (openid-client). The pending sign-in is kept here,
 * in memory, under its state, and bound to the browser that started it by a short-lived `SameSite=Lax`
 * cookie holding that state (Lax: the provider's redirect back is a cross-site navigation). A state is
 * used once. The signed-in user must match one of `sso.allow`; only then is a dashboard session opened.
 * Every answer is data (`SsoResult`): handler.ts renders it.
 */
import type { IncomingMessage } from 'node:http';
import type { Static } from '@sinclair/typebox';
import { LRUCache } from 'lru-cache';
import * as oidc from 'openid-client';
import type { Logger } from 'pino';
import { compileRule, type CompiledRule } from '../../authz/compile.js';
import type { OidcProviderSchema } from '../../authn/jwt/schema.js';
import { parseCookies } from '../../authn/session/cookies.js';
import { createRelyingParty, type ClientSettings, type RelyingParty } from '../../authn/session/oidc-client.js';
import { safeReturnPath } from '../../authn/session/return-url.js';
import { parseDuration } from '../../config/units.js';
import { identityFromClaims, type ClaimMapping } from '../../identity/claims.js';
import type { Identity } from '../../identity/identity.js';
import { compilePreset } from '../../identity/presets.js';
import type { TokenRules } from '../../authn/jwt/rules.js';
import type { DashboardAuth } from './auth.js';
import type { DashboardSsoConfig } from './schema.js';

export const SSO_LOGIN_PATH = '/dashboard/sso/login';
export const SSO_CALLBACK_PATH = '/dashboard/sso/callback';
const LOGIN_COOKIE = 'gh_dashboard_login';
const SECURE_LOGIN_COOKIE = '__Host-gh_dashboard_login';
/** A pending sign-in lives this long. */
const LOGIN_TTL_SEC = 600;
const MAX_PENDING = 10_000;

/** What a sign-in endpoint answers: a redirect, the signed-in hop to the dashboard, or a refusal page. */
export type SsoResult =
  | { readonly kind: 'redirect'; readonly location: string; readonly cookies: readonly string[] }
  | { readonly kind: 'signed_in'; readonly location: string; readonly cookies: readonly string[] }
  | { readonly kind: 'refused'; readonly status: number; readonly code: string; readonly message: string; readonly cookies: readonly string[] };

export interface DashboardSso {
  /** The provider's name (shown on the login page). */
  readonly provider: string;
  /** `GET /dashboard/sso/login?rd=/dashboard…`: off to the provider. */
  begin(req: IncomingMessage, query: URLSearchParams): Promise<SsoResult>;
  /** `GET /dashboard/sso/callback?code=…&state=…`: the provider's answer. */
  callback(req: IncomingMessage, query: URLSearchParams): Promise<SsoResult>;
}

interface Pending { readonly nonce: string; readonly verifier: string; readonly returnTo: string; readonly redirectUri: string }

type OidcConfig = Static<typeof OidcProviderSchema>;

/** The client the dashboard signs in with: its own (`sso.clientId`), else the provider's `login` client. */
export function ssoClient(sso: DashboardSsoConfig, provider: OidcConfig): ClientSettings | undefined {
  const own = sso.clientId !== undefined;
  const from = own ? sso : provider.login;
  if (from === undefined) return undefined;
  return {
    clientId: from.clientId!, clientSecret: from.clientSecret, clientAuth: from.clientAuth ?? 'client_secret_basic', privateKey: from.privateKey, keyId: from.keyId,
    scopes: sso.scopes ?? ['openid', 'profile', 'email'],
    // The provider's `prompt` belongs to its login client; the dashboard's own client has none.
    prompt: own ? undefined : provider.login?.prompt,
  };
}

/** A return path after sign-in: a page of the dashboard, nothing else. */
export function dashboardReturnPath(target: string | null): string | undefined {
  const path = safeReturnPath(target);
  if (path === undefined) return undefined;
  const pathname = path.split('?')[0]!;
  const page = pathname === '/dashboard' || (pathname.startsWith('/dashboard/') && !pathname.startsWith('/dashboard/sso/') && !pathname.startsWith('/dashboard/api/'));
  return page ? path : undefined;
}

/** The SSO sign-in of a dashboard whose sessions `auth` keeps. */
export function createDashboardSso(sso: DashboardSsoConfig, providerName: string, provider: OidcConfig, auth: DashboardAuth, log: Logger): DashboardSso {
  const client = ssoClient(sso, provider);
  if (client === undefined) throw new Error(`admin.dashboard.sso: provider "${providerName}" has no login block; set clientId`);
  const rp: RelyingParty = createRelyingParty(provider.issuer, client, parseDuration(provider.login?.timeout ?? '10s'));
  const { claims: mapping, rules } = compilePreset(providerName, provider) as { claims: ClaimMapping; rules?: TokenRules };
  const allow: CompiledRule[] = sso.allow.map((r, i) => compileRule(r, `allow[${i}]`));
  const pending = new LRUCache<string, Pending>({ max: MAX_PENDING, ttl: LOGIN_TTL_SEC * 1000 });

  const loginCookie = (req: IncomingMessage, value: string, maxAge: number): string => (auth.secure(req)
    ? `${SECURE_LOGIN_COOKIE}=${value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=${maxAge}`
    : `${LOGIN_COOKIE}=${value}; Path=/dashboard/sso; HttpOnly; SameSite=Lax; Max-Age=${maxAge}`);
  const clearLogin = (req: IncomingMessage): string => loginCookie(req, '', 0);
  const refused = (req: IncomingMessage, status: number, code: string, message: string, extra: Record<string, unknown> = {}): SsoResult => {
    // Who tried and why; never a token or a code.
    log.warn({ client: req.socket.remoteAddress, provider: providerName, code, ...extra }, 'dashboard sign-in refused');
    return { kind: 'refused', status, code, message, cookies: [clearLogin(req)] };
  };

  /** Why `identity` may not see the dashboard, or undefined when a rule allows it. */
  const denial = (identity: Identity): string | undefined => {
    const failures = allow.map((r) => r.failure(identity));
    return failures.includes(undefined) ? undefined : failures.map((f, i) => `${allow[i]!.name}: ${f}`).join('; ');
  };

  async function complete(req: IncomingMessage, query: URLSearchParams, state: string, p: Pending): Promise<SsoResult> {
    let claims: Record<string, unknown> | undefined;
    try {
      claims = (await rp.exchange(new URL(`${p.redirectUri}?${query.toString()}`), { state, nonce: p.nonce, verifier: p.verifier })).claims;
    } catch (err) {
      // The provider's error code, or openid-client's check that failed (its messages name the claim, never a token).
      const error = err instanceof oidc.AuthorizationResponseError || err instanceof oidc.ResponseBodyError ? err.error : (err as { code?: string }).code;
      return refused(req, 401, 'login_failed', 'The identity provider did not complete the sign-in.', { error, detail: err instanceof Error ? err.message.slice(0, 200) : undefined });
    }
    const bad = claims === undefined ? { detail: 'no ID token' } : rules?.checkClaims?.(claims);
    const identity = claims === undefined || bad !== undefined ? undefined : identityFromClaims(providerName, claims, mapping, 'session');
    if (identity === undefined) return refused(req, 401, 'login_failed', 'The identity provider\'s answer does not name a user this gateway accepts.', { detail: bad?.detail });
    const why = denial(identity);
    if (why !== undefined) return refused(req, 403, 'not_allowed', `${identity.subject} is signed in at ${providerName} but may not see this dashboard.`, { subject: identity.subject, why });
    const id = auth.open({ via: 'sso', subject: identity.subject });
    log.info({ client: req.socket.remoteAddress, provider: providerName, subject: identity.subject, via: 'sso' }, 'dashboard sign-in');
    return { kind: 'signed_in', location: p.returnTo, cookies: [auth.sessionCookie(req, id), clearLogin(req)] };
  }

  return {
    provider: providerName,
    async begin(req, query) {
      const rd = query.get('rd');
      const returnTo = rd === null ? '/dashboard' : dashboardReturnPath(rd);
      if (returnTo === undefined) return refused(req, 400, 'redirect_not_allowed', 'The return path must be a page of the dashboard.');
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const verifier = oidc.randomPKCECodeVerifier();
      const redirectUri = `${auth.origin(req)}${SSO_CALLBACK_PATH}`;
      let url: URL;
      try {
        url = await rp.authorizationUrl({ redirectUri, state, nonce, codeChallenge: await oidc.calculatePKCECodeChallenge(verifier) });
      } catch (err) {
        return refused(req, 503, 'provider_unavailable', `The identity provider (${providerName}) cannot be reached; try again later.`, { error: err instanceof Error ? err.message : String(err) });
      }
      pending.set(state, { nonce, verifier, returnTo, redirectUri });
      return { kind: 'redirect', location: url.href, cookies: [loginCookie(req, state, LOGIN_TTL_SEC)] };
    },
    async callback(req, query) {
      const state = query.get('state');
      const bound = parseCookies(req.headers.cookie).get(auth.secure(req) ? SECURE_LOGIN_COOKIE : LOGIN_COOKIE);
      const p = state === null || query.getAll('state').length !== 1 ? undefined : pending.get(state);
      // Used once, whatever happens next: a replayed callback finds nothing.
      if (state !== null) pending.delete(state);
      if (state === null || p === undefined || bound !== state) return refused(req, 400, 'login_state_invalid', 'This sign-in is unknown, expired or already used, or was started in another browser. Sign in again.');
      return complete(req, query, state, p);
    },
  };
}
