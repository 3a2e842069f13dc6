/**
 * One provider's sessions: open a request's cookies (cached per cookie value, so a request pays a
 * lookup, not a decryption), issue cookies for a session, and refresh the provider's tokens once per
 * session at a time (single-flight by session id; late requests with the pre-refresh cookie reuse
 * the result, so a rotated refresh token is never sent twice).
 */
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import * as oidc from 'openid-client';
import { GatehouseError } from '../../errors.js';
import type { ClaimMapping } from '../../identity/claims.js';
import type { TokenRules } from '../jwt/rules.js';
import { chunkedCookies, clearChunks, readChunks } from './cookies.js';
import type { RelyingParty, TokenSet } from './oidc-client.js';
import type { Sealer } from './seal.js';
import { LOCAL_REFRESH, type RefreshCoordinator, type RefreshOutcome, type RevocationStore } from './revocations.js';
import { fromPayload, sessionIdentity, toPayload, type KeepRules, type SessionData } from './session-data.js';

/** A session as a request found it. */
export type Opened = { readonly session: SessionData } | { readonly invalid: true } | undefined;

/** Settings fixed at load (seconds). */
export interface SessionSettings {
  readonly provider: string;
  readonly cookieName: string;
  readonly idleSec: number;
  readonly absoluteSec: number;
  readonly refreshBeforeSec: number;
  readonly keep: KeepRules;
  readonly mapping: ClaimMapping;
  readonly rules: TokenRules | undefined;
}

/** The outcome of a refresh: the new session and its cookie lines, or why the session ended. */
export type Refreshed = { readonly session: SessionData; readonly cookies: readonly string[] } | { readonly ended: 'session_expired' | 'provider_unavailable' };

const CACHE_MAX = 10_000;
/** How long a refresh's result answers requests still carrying the cookie from before it. */
const REFRESH_GRACE_MS = 60_000;

const now = (): number => Math.floor(Date.now() / 1000);

export class SessionManager {
  readonly #cache: LRUCache<string, SessionData>;
  readonly #flights = new Map<string, Promise<Refreshed>>();
  readonly #recent = new LRUCache<string, Refreshed>({ max: CACHE_MAX, ttl: REFRESH_GRACE_MS });
  /** Token-endpoint refreshes started (tests and metrics). */
  refreshes = 0;
  /** `loginSealer` seals the short-lived pending sign-in cookie: always into the cookie, even when sessions are kept in Redis. */
  constructor(readonly settings: SessionSettings, readonly sealer: Sealer, readonly rp: RelyingParty, readonly revocations: RevocationStore, readonly coordinator: RefreshCoordinator = LOCAL_REFRESH, readonly loginSealer: Sealer = sealer) {
    this.#cache = new LRUCache({ max: CACHE_MAX, ttl: settings.absoluteSec * 1000 });
  }

  /** The sealed cookie value of a request, or undefined when it has none. */
  cookieValue(cookies: ReadonlyMap<string, string>): string | undefined {
    return readChunks(cookies, this.settings.cookieName);
  }

  /** A cached session for `value` (no decryption), or undefined. */
  cached(value: string): SessionData | undefined {
    return this.#cache.get(value);
  }

  /** Open `value`: the session, `{ invalid }` when it does not open (tampered, truncated, retired key). */
  async open(value: string): Promise<Opened> {
    const hit = this.#cache.get(value);
    if (hit !== undefined) return { session: hit };
    const payload = await this.sealer.open(value);
    const session = payload === undefined ? undefined : fromPayload(payload, this.settings.provider);
    if (session === undefined) return { invalid: true };
    this.#cache.set(value, session);
    return { session };
  }

  /** Whether `s` has ended by its idle or absolute lifetime. */
  ended(s: SessionData, t = now()): boolean {
    return t >= s.iat + this.settings.absoluteSec || t >= s.touched + this.settings.idleSec;
  }

  /** The tokens are about to expire (refresh, or end without a refresh token). */
  stale(s: SessionData, t = now()): boolean {
    return t >= s.tokenExp - this.settings.refreshBeforeSec;
  }

  /** Re-issue the cookie to keep an active session from idling out: after a tenth of the idle time (at most 5 minutes). */
  needsTouch(s: SessionData, t = now()): boolean {
    return t - s.touched >= Math.min(this.settings.idleSec / 10, 300);
  }

  /** Set-Cookie lines for `s` (the chunks, and deletions of chunks the request had beyond them). */
  async issue(s: SessionData, present: ReadonlyMap<string, string>): Promise<string[]> {
    const value = await this.sealer.seal(toPayload(s));
    this.#cache.set(value, s);
    return chunkedCookies(this.settings.cookieName, value, this.#maxAge(s), present);
  }

  /** Seconds until `s` ends by its lifetimes (the cookie's Max-Age). */
  #maxAge(s: SessionData): number {
    return Math.min(s.iat + this.settings.absoluteSec, s.touched + this.settings.idleSec) - now();
  }

  /** Lines deleting the request's session cookies. */
  clear(present: ReadonlyMap<string, string>): string[] {
    return clearChunks(this.settings.cookieName, present);
  }

  /** A new session from a completed sign-in; throws login_failed when the claims do not make an identity. */
  fromTokens(t: TokenSet): SessionData {
    if (t.claims === undefined) throw new GatehouseError('login_failed', 'the provider returned no ID token');
    const bad = this.settings.rules?.checkClaims?.(t.claims);
    if (bad !== undefined) throw new GatehouseError('login_failed', bad.detail);
    const tokenExp = expiry(t);
    const identity = sessionIdentity(this.settings.provider, t.claims, this.settings.mapping, this.settings.keep, tokenExp);
    if (identity === undefined) throw new GatehouseError('login_failed', 'the ID token has no subject claim');
    const t0 = now();
    const opSid = typeof t.claims.sid === 'string' ? t.claims.sid : undefined;
    return { sid: randomBytes(16).toString('base64url'), iat: t0, touched: t0, tokenExp, refreshToken: t.refreshToken, idToken: t.idToken, opSid, identity };
  }

  /** Refresh `s` (one token request per session at a time, whoever asks). */
  refresh(s: SessionData, present: ReadonlyMap<string, string>): Promise<Refreshed> {
    const recent = this.#recent.get(s.sid);
    if (recent !== undefined && 'ended' in recent) return Promise.resolve(recent);
    // A request with a cookie from before the last refresh: that refresh answers it, or (due again) is where the next starts.
    if (recent !== undefined && recent.session.tokenExp > s.tokenExp) {
      if (!this.stale(recent.session)) return Promise.resolve(recent);
      s = recent.session;
    }
    let flight = this.#flights.get(s.sid);
    if (flight === undefined) {
      flight = this.#refresh(s, present).finally(() => this.#flights.delete(s.sid));
      this.#flights.set(s.sid, flight);
    }
    return flight;
  }

  async #refresh(s: SessionData, present: ReadonlyMap<string, string>): Promise<Refreshed> {
    if (s.refreshToken === undefined) return { ended: 'session_expired' };
    // One refresh per session generation (its id and token expiry), also across processes with Redis.
    const outcome = await this.coordinator.once(`${s.sid}:${s.tokenExp}`, () => this.#refreshAtProvider(s, s.refreshToken!));
    const opened = outcome === 'session_expired' || outcome === 'provider_unavailable' ? undefined : await this.open(outcome);
    if (opened === undefined || 'invalid' in opened) {
      const ended: Refreshed = { ended: outcome === 'provider_unavailable' ? 'provider_unavailable' : 'session_expired' };
      if (ended.ended === 'session_expired') this.#recent.set(s.sid, ended);
      return ended;
    }
    const done: Refreshed = { session: opened.session, cookies: chunkedCookies(this.settings.cookieName, outcome, this.#maxAge(opened.session), present) };
    this.#recent.set(s.sid, done);
    return done;
  }

  /** The token request itself: the new session sealed, or why it ended. */
  async #refreshAtProvider(s: SessionData, refreshToken: string): Promise<RefreshOutcome> {
    this.refreshes++;
    let t: TokenSet;
    try {
      t = await this.rp.refresh(refreshToken);
    } catch (err) {
      // The provider said no (invalid_grant: revoked, expired, reused): the session is over. Anything else: it could not decide.
      return err instanceof oidc.ResponseBodyError || err instanceof oidc.AuthorizationResponseError ? 'session_expired' : 'provider_unavailable';
    }
    const tokenExp = expiry(t, s.tokenExp);
    const identity = t.claims === undefined ? s.identity : sessionIdentity(this.settings.provider, t.claims, this.settings.mapping, this.settings.keep, tokenExp);
    if (identity === undefined || (t.claims !== undefined && this.settings.rules?.checkClaims?.(t.claims) !== undefined)) return 'session_expired';
    const session: SessionData = { ...s, touched: now(), tokenExp, refreshToken: t.refreshToken ?? s.refreshToken, idToken: t.idToken ?? s.idToken, identity };
    return this.sealer.seal(toPayload(session));
  }

  /** End the session `value` names where it is kept (the server-side store; a cookie-only session ends with its cookie). */
  async forget(value: string): Promise<void> {
    this.#cache.delete(value);
    await this.sealer.forget?.(value);
  }

  clearCaches(): void {
    this.#cache.clear();
    this.#recent.clear();
  }

  close(): void {
    this.clearCaches();
    this.sealer.close?.();
  }
}

/** When a token set's tokens expire: the earlier of the access token's and the ID token's expiry. */
function expiry(t: TokenSet, fallback = now() + 3600): number {
  const idExp = typeof t.claims?.exp === 'number' ? t.claims.exp : undefined;
  const candidates = [t.expiresAt, idExp].filter((x): x is number => x !== undefined);
  return candidates.length > 0 ? Math.min(...candidates) : fallback;
}
