/**
 * The dashboard's own authentication: sessions held here, in memory, opened by the login page (the
 * configured token) or by a sign-in with the OpenID provider (sso.ts); API clients may instead send
 * the token as a bearer token.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { LRUCache } from 'lru-cache';
import { parseCookies } from '../../authn/session/cookies.js';

/** The session cookie on a plain-HTTP admin origin (`Path=/dashboard`). */
export const SESSION_COOKIE = 'gatehouse_dashboard';
/** The session cookie on an HTTPS admin origin (`__Host-`: `Secure`, `Path=/`, no `Domain`). */
export const SECURE_SESSION_COOKIE = '__Host-gh_dashboard';
export const SESSION_TTL_SEC = 8 * 60 * 60;
const MAX_SESSIONS = 1000;
/** Login attempts (and failed bearer tokens) allowed per second, over every client. */
const ATTEMPTS_PER_SECOND = 5;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** How a request authenticated to the dashboard, if it did. */
export type Credential = 'session' | 'bearer' | 'wrong_bearer' | 'none';

/** Who a session belongs to: the token's holder, or a signed-in user of the SSO provider. */
export interface SessionInfo {
  readonly via: 'token' | 'sso';
  readonly subject?: string;
}

/** Whether the admin listener spoke TLS on this request. */
export const isTls = (req: IncomingMessage): boolean => (req.socket as Partial<TLSSocket>).encrypted === true;

/** The token, the open sessions and the attempt budget of one dashboard. */
export class DashboardAuth {
  readonly #token: Buffer | undefined;
  readonly #externalUrl: string | undefined;
  readonly #sessions = new LRUCache<string, SessionInfo>({ max: MAX_SESSIONS, ttl: SESSION_TTL_SEC * 1000 });
  #second = 0;
  #attempts = 0;

  /** `token` absent: only SSO opens sessions; `externalUrl`: the admin origin as browsers see it. */
  constructor(token: string | undefined, externalUrl?: string) {
    this.#token = token === undefined ? undefined : digest(token);
    this.#externalUrl = externalUrl?.toLowerCase();
  }

  get hasToken(): boolean {
    return this.#token !== undefined;
  }

  /** Whether `candidate` is the token: equal-length SHA-256 digests compared in constant time. */
  check(candidate: string): boolean {
    return this.#token !== undefined && timingSafeEqual(digest(candidate), this.#token);
  }

  /** Counts an attempt; false once this second's attempts are used up. */
  attempt(now: number = Date.now()): boolean {
    const second = Math.floor(now / 1000);
    if (second !== this.#second) { this.#second = second; this.#attempts = 0; }
    return ++this.#attempts <= ATTEMPTS_PER_SECOND;
  }

  /** A new session: a random 32-byte id, valid for SESSION_TTL_SEC. */
  open(info: SessionInfo): string {
    const id = randomBytes(32).toString('base64url');
    this.#sessions.set(id, info);
    return id;
  }

  close(req: IncomingMessage): void {
    const id = this.#cookie(req);
    if (id !== undefined) this.#sessions.delete(id);
  }

  /** The request's session, if it has one. */
  session(req: IncomingMessage): SessionInfo | undefined {
    const id = this.#cookie(req);
    return id === undefined ? undefined : this.#sessions.get(id);
  }

  /** The request's session cookie or bearer token, checked. */
  credential(req: IncomingMessage): Credential {
    const auth = req.headers.authorization;
    if (auth !== undefined) {
      const m = /^Bearer +(\S+)\s*$/i.exec(auth);
      return m && this.check(m[1]!) ? 'bearer' : 'wrong_bearer';
    }
    return this.session(req) !== undefined ? 'session' : 'none';
  }

  /** Whether browsers reach the admin listener over HTTPS (its own TLS, or `externalUrl`). */
  secure(req: IncomingMessage): boolean {
    return isTls(req) || this.#externalUrl?.startsWith('https:') === true;
  }

  /** The admin origin as the browser sees it. */
  origin(req: IncomingMessage): string {
    return this.#externalUrl ?? `${isTls(req) ? 'https' : 'http'}://${(req.headers.host ?? '').toLowerCase()}`;
  }

  /** The Set-Cookie value of a session (`__Host-` and `Secure` on an HTTPS origin). */
  sessionCookie(req: IncomingMessage, id: string, maxAgeSec = SESSION_TTL_SEC): string {
    const attrs = `HttpOnly; SameSite=Strict; Max-Age=${maxAgeSec}`;
    return this.secure(req) ? `${SECURE_SESSION_COOKIE}=${id}; Path=/; Secure; ${attrs}` : `${SESSION_COOKIE}=${id}; Path=/dashboard; ${attrs}`;
  }

  /** The Set-Cookie value deleting the session cookie. */
  clearCookie(req: IncomingMessage): string {
    return this.sessionCookie(req, '', 0);
  }

  /**
   * CSRF: a state-changing request must come from the admin origin itself. A browser always sends
   * `Origin` on a POST; without one the request is accepted only when it carries the bearer token.
   */
  sameOrigin(req: IncomingMessage, credential: Credential): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return credential === 'bearer';
    return req.headers.host !== undefined && origin.toLowerCase() === this.origin(req);
  }

  #cookie(req: IncomingMessage): string | undefined {
    const value = parseCookies(req.headers.cookie).get(this.secure(req) ? SECURE_SESSION_COOKIE : SESSION_COOKIE);
    return value === undefined || value === '' ? undefined : value;
  }
}
