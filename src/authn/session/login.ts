/**
 * The sign-in flow of one provider: `begin` sends a browser to the provider (state, nonce and PKCE
 * verifier sealed in a short-lived cookie named after the state), `callback` completes it at the
 * gateway-owned redirect path, `logout` clears the session and ends it at the provider.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import * as oidc from 'openid-client';
import { GatehouseError, type Refusal } from '../../errors.js';
import type { AuthnRequest } from '../authenticator.js';
import { ownOrigin } from './browser.js';
import { createBackchannelLogout, type BackchannelLogout } from './backchannel.js';
import { clearCookie, parseCookies, setCookie } from './cookies.js';
import type { SessionManager } from './manager.js';
import { safeReturnPath } from './return-url.js';

/** A gateway-owned endpoint's answer: a redirect with cookies, or a refusal. */
export type EndpointResult = { readonly location: string; readonly cookies: readonly string[] } | Refusal;

/** What the endpoints read of a request. */
export type LoginRequest = Pick<AuthnRequest, 'method' | 'headers' | 'client' | 'query'>;

export interface LoginFlow {
  readonly redirectPath: string;
  /** The login redirect for a browser without a session, back to `returnTo` afterwards (also clearing `clear`). */
  begin(req: LoginRequest, returnTo: string, clear?: readonly string[]): Promise<Refusal>;
  callback(req: LoginRequest): Promise<EndpointResult>;
  /** Whether the request carries a session of this provider (logout picks the provider by it). */
  hasSession(req: LoginRequest): boolean;
  logout(req: LoginRequest): Promise<EndpointResult>;
  /** The provider's issuer (back-channel logout tokens pick the flow by it). */
  readonly issuer: string;
  /** Verify a back-channel logout token and revoke the sessions it names. */
  backchannelLogout: BackchannelLogout;
}

/** A pending sign-in lives this long. */
const LOGIN_TTL_SEC = 600;
const loginCookie = (state: string): string => `__Host-gh_login_${createHash('sha256').update(state).digest('base64url').slice(0, 16)}`;
const INVALID_STATE: Refusal = Object.freeze({ code: 'login_state_invalid' });
/** Pending sign-ins a browser may hold at once (tabs); beyond, the old ones are cleared so the Cookie header stays small. */
const MAX_PENDING = 4;

/** Deletions of the request's pending-login cookies when it holds too many. */
function staleLogins(req: LoginRequest): string[] {
  const names = [...parseCookies(req.headers.cookie).keys()].filter((n) => n.startsWith('__Host-gh_login_'));
  return names.length >= MAX_PENDING ? names.map(clearCookie) : [];
}

export interface LoginOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly redirectPath: string;
  readonly baseUrl: string | undefined;
  readonly postLogoutRedirects: readonly string[];
}

/** The sign-in flow over `manager` (its login sealer seals the pending-login cookie). */
export function createLoginFlow(manager: SessionManager, opts: LoginOptions): LoginFlow {
  const { rp, loginSealer: sealer } = manager;
  // States already used (a replayed callback is refused even while its cookie is still around).
  const used = new LRUCache<string, true>({ max: 100_000, ttl: LOGIN_TTL_SEC * 1000 });
  const redirectUri = (req: LoginRequest): string => `${ownOrigin(req, opts.baseUrl)}${opts.redirectPath}`;

  async function callback(req: LoginRequest): Promise<EndpointResult> {
    const params = new URLSearchParams(req.query);
    const state = params.get('state');
    if (state === null || state === '' || params.getAll('state').length > 1) return INVALID_STATE;
    const cookies = parseCookies(req.headers.cookie);
    const name = loginCookie(state);
    const sealed = cookies.get(name);
    const pending = sealed === undefined ? undefined : await sealer.open(sealed);
    if (pending === undefined || pending.s !== state || typeof pending.e !== 'number' || pending.e < Date.now() / 1000 || used.has(state)) return INVALID_STATE;
    used.set(state, true);
    const { n: nonce, v: verifier, r: returnTo, u: uri } = pending as { n: string; v: string; r: string; u: string };
    let tokens;
    try {
      tokens = await rp.exchange(new URL(`${uri}?${req.query}`), { state, nonce, verifier });
    } catch (err) {
      const code = err instanceof oidc.AuthorizationResponseError ? err.error : undefined;
      return { code: 'login_failed', ...(code !== undefined && /^[a-z_]{1,40}$/.test(code) ? { detail: `the provider answered ${code}` } : {}) };
    }
    const session = manager.fromTokens(tokens);
    const lines = await manager.issue(session, cookies);
    return { location: safeReturnPath(returnTo) ?? '/', cookies: [...lines, clearCookie(name)] };
  }

  return {
    redirectPath: opts.redirectPath,
    issuer: opts.issuer,
    backchannelLogout: createBackchannelLogout(manager, opts.issuer, opts.clientId),
    async begin(req, returnTo, clear = []) {
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const verifier = oidc.randomPKCECodeVerifier();
      const uri = redirectUri(req);
      let url: URL;
      try {
        url = await rp.authorizationUrl({ redirectUri: uri, state, nonce, codeChallenge: await oidc.calculatePKCECodeChallenge(verifier) });
      } catch {
        return Object.freeze({ code: 'provider_unavailable' });
      }
      const pending = await sealer.seal({ s: state, n: nonce, v: verifier, r: safeReturnPath(returnTo) ?? '/', u: uri, e: Math.floor(Date.now() / 1000) + LOGIN_TTL_SEC });
      return { code: 'login_required', headers: { location: url.href, 'set-cookie': [...clear, ...staleLogins(req), setCookie(loginCookie(state), pending, LOGIN_TTL_SEC)] } };
    },
    async callback(req) {
      try {
        return await callback(req);
      } catch (err) {
        if (err instanceof GatehouseError) return { code: err.code, ...(err.code === 'login_failed' ? { detail: err.message } : {}) };
        throw err;
      }
    },
    hasSession: (req) => manager.cookieValue(parseCookies(req.headers.cookie)) !== undefined,
    async logout(req) {
      const cookies = parseCookies(req.headers.cookie);
      const value = manager.cookieValue(cookies);
      const opened = value === undefined ? undefined : await manager.open(value);
      const rd = new URLSearchParams(req.query).get('rd');
      if (rd !== null && !opts.postLogoutRedirects.includes(rd)) return Object.freeze({ code: 'redirect_not_allowed', detail: 'rd must be one of the provider\'s postLogoutRedirects' });
      const after = rd ?? opts.postLogoutRedirects[0];
      const lines = manager.clear(cookies);
      // A session kept in Redis ends there too (the cookie alone would otherwise still open it elsewhere).
      if (value !== undefined) await manager.forget(value).catch(() => undefined);
      const session = opened !== undefined && 'session' in opened ? opened.session : undefined;
      let end: URL | undefined;
      try {
        end = await rp.endSessionUrl({ idTokenHint: session?.idToken, postLogoutRedirectUri: after });
      } catch {
        end = undefined;
      }
      return { location: end?.href ?? after ?? '/', cookies: lines };
    },
  };
}
