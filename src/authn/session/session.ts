/**
 * The `session:<provider>` authenticator: the browser's sealed session cookie. No cookie is "not
 * mine"; a cookie that does not open, or a session that has ended, is a refusal (the cookie is
 * cleared with it) and never falls through to the next authenticator. A cookie-authenticated request
 * that changes state must come from the gateway's own origin (or an allowed one).
 */
import { GatehouseError, type Refusal } from '../../errors.js';
import { ABSENT, PENDING, type AuthnOutcome, type AuthnRequest, type Authenticator } from '../authenticator.js';
import { ownOrigin, sameOrigin } from './browser.js';
import { parseCookies } from './cookies.js';
import type { SessionManager } from './manager.js';
import type { SessionData } from './session-data.js';
import type { LoginFlow } from './login.js';

/** A session authenticator, and the sign-in flow it sends browsers without a session to. */
export interface SessionAuthenticator extends Authenticator {
  readonly kind: 'session';
  readonly login: LoginFlow;
  readonly manager: SessionManager;
}

const CSRF: Refusal = Object.freeze({ code: 'csrf_origin_mismatch', detail: 'send state-changing requests from the application\'s own origin' });

/** Create the authenticator over `manager`; `allowedOrigins` may also send state-changing requests. */
export function createSessionAuthenticator(manager: SessionManager, login: LoginFlow, opts: { baseUrl: string | undefined; allowedOrigins: readonly string[] }): SessionAuthenticator {
  const allowed = new Set(opts.allowedOrigins.map((o) => o.toLowerCase()));
  const name = manager.settings.provider;

  const refuse = (code: 'session_invalid' | 'session_expired' | 'session_revoked' | 'provider_unavailable', cookies: ReadonlyMap<string, string>): AuthnOutcome => ({
    ok: false, provider: name,
    refusal: code === 'provider_unavailable' ? Object.freeze({ code }) : { code, headers: { 'set-cookie': manager.clear(cookies) } },
  });

  /** The checks every session answer passes: CSRF first (it needs no state). */
  const csrf = (req: AuthnRequest): AuthnOutcome | undefined =>
    (sameOrigin(req.method, req.headers, ownOrigin(req, opts.baseUrl), allowed) ? undefined : { ok: false, refusal: CSRF, provider: name });

  /** A session that needs nothing done: answered from memory. */
  const fresh = (s: SessionData): boolean => !manager.revocations.revoked(s) && !manager.ended(s) && !manager.stale(s) && !manager.needsTouch(s);

  async function decide(req: AuthnRequest, value: string, cookies: ReadonlyMap<string, string>): Promise<AuthnOutcome> {
    const opened = await manager.open(value);
    if (opened === undefined || 'invalid' in opened) return refuse('session_invalid', cookies);
    let s = opened.session;
    if (manager.revocations.revoked(s)) return refuse('session_revoked', cookies);
    if (manager.ended(s)) return refuse('session_expired', cookies);
    let setCookies: readonly string[] | undefined;
    if (manager.stale(s)) {
      const r = await manager.refresh(s, cookies);
      if ('ended' in r) return refuse(r.ended, cookies);
      s = r.session;
      setCookies = r.cookies;
    } else if (manager.needsTouch(s)) {
      s = { ...s, touched: Math.floor(Date.now() / 1000) };
      setCookies = await manager.issue(s, cookies);
    }
    return csrf(req) ?? { ok: true, identity: s.identity, ...(setCookies ? { setCookies } : {}) };
  }

  return {
    kind: 'session',
    login,
    manager,
    credentialHeaders: [],
    hint: 'a session cookie (sign in with a browser)',
    bearer: false,
    get ready() { return manager.rp.ready; },
    start: async () => { await Promise.all([manager.rp.start(), manager.revocations.start()]); },
    close: () => { manager.close(); manager.revocations.close(); },
    probe(req) {
      const header = req.headers.cookie;
      if (header === undefined || !header.includes(manager.settings.cookieName)) return ABSENT;
      const value = manager.cookieValue(parseCookies(header));
      if (value === undefined) return ABSENT;
      const hit = manager.cached(value);
      if (hit === undefined || !fresh(hit)) return PENDING;
      return csrf(req) ?? { ok: true, identity: hit.identity };
    },
    async authenticate(req) {
      const cookies = parseCookies(req.headers.cookie);
      const value = manager.cookieValue(cookies);
      if (value === undefined) return ABSENT;
      try {
        return await decide(req, value, cookies);
      } catch (err) {
        if (err instanceof GatehouseError) return { ok: false, refusal: { code: err.code }, provider: name };
        throw err;
      }
    },
  };
}
