/**
 * The dashboard's own authentication: one configured token, entered once on the login page (which
 * opens a session held here, in memory) or sent as a bearer token by API clients.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { LRUCache } from 'lru-cache';

export const SESSION_COOKIE = 'gatehouse_dashboard';
const SESSION_TTL_MS = 8 * 60 * 60 * 1000;
const MAX_SESSIONS = 1000;
/** Login attempts (and failed bearer tokens) allowed per second, over every client. */
const ATTEMPTS_PER_SECOND = 5;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** How a request authenticated to the dashboard, if it did. */
export type Credential = 'session' | 'bearer' | 'wrong_bearer' | 'none';

/** The token, the open sessions and the attempt budget of one dashboard. */
export class DashboardAuth {
  readonly #token: Buffer;
  readonly #sessions = new LRUCache<string, true>({ max: MAX_SESSIONS, ttl: SESSION_TTL_MS });
  #second = 0;
  #attempts = 0;

  constructor(token: string) {
    this.#token = digest(token);
  }

  /** Whether `candidate` is the token: equal-length SHA-256 digests compared in constant time. */
  check(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), this.#token);
  }

  /** Counts an attempt; false once this second's attempts are used up. */
  attempt(now: number = Date.now()): boolean {
    const second = Math.floor(now / 1000);
    if (second !== this.#second) { this.#second = second; this.#attempts = 0; }
    return ++this.#attempts <= ATTEMPTS_PER_SECOND;
  }

  /** A new session: a random 32-byte id, valid for SESSION_TTL_MS. */
  open(): string {
    const id = randomBytes(32).toString('base64url');
    this.#sessions.set(id, true);
    return id;
  }

  close(req: IncomingMessage): void {
    const id = cookie(req, SESSION_COOKIE);
    if (id !== undefined) this.#sessions.delete(id);
  }

  /** The request's session cookie or bearer token, checked. */
  credential(req: IncomingMessage): Credential {
    const auth = req.headers.authorization;
    if (auth !== undefined) {
      const m = /^Bearer +(\S+)\s*$/i.exec(auth);
      return m && this.check(m[1]!) ? 'bearer' : 'wrong_bearer';
    }
    const id = cookie(req, SESSION_COOKIE);
    return id !== undefined && this.#sessions.get(id) === true ? 'session' : 'none';
  }

  /** The Set-Cookie value of a session (`Secure` when the admin listener is HTTPS). */
  static cookieFor(id: string, secure: boolean): string {
    return `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/dashboard; Max-Age=${SESSION_TTL_MS / 1000}${secure ? '; Secure' : ''}`;
  }
}

/** One cookie's value from the Cookie header. */
function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** Whether the admin listener spoke TLS on this request. */
export const isTls = (req: IncomingMessage): boolean => (req.socket as Partial<TLSSocket>).encrypted === true;

/**
 * CSRF: a state-changing request must come from the admin origin itself. A browser always sends
 * `Origin` on a POST; without one the request is accepted only when it carries the bearer token.
 */
export function sameOrigin(req: IncomingMessage, credential: Credential): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return credential === 'bearer';
  return req.headers.host !== undefined && origin === `${isTls(req) ? 'https' : 'http'}://${req.headers.host}`;
}
