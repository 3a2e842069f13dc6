/**
 * Sessions the provider ended (OIDC Back-Channel Logout): by the provider's session id, or every
 * session of a subject signed in before the logout. Kept in process memory for as long as a session
 * can live; with several processes or replicas each must receive the logout (a shared store is future work).
 */
import { LRUCache } from 'lru-cache';
import type { SessionData } from './session-data.js';

const MAX = 100_000;

export class Revocations {
  readonly #bySid: LRUCache<string, true>;
  /** Subject → epoch seconds of its logout: sessions signed in at or before it are over. */
  readonly #bySub: LRUCache<string, number>;

  constructor(lifetimeSec: number) {
    this.#bySid = new LRUCache({ max: MAX, ttl: lifetimeSec * 1000 });
    this.#bySub = new LRUCache({ max: MAX, ttl: lifetimeSec * 1000 });
  }

  /** End the sessions a logout token names. */
  revoke(by: { readonly sid?: string | undefined; readonly sub?: string | undefined }): void {
    if (by.sid !== undefined) this.#bySid.set(by.sid, true);
    else if (by.sub !== undefined) this.#bySub.set(by.sub, Math.floor(Date.now() / 1000));
  }

  /** Whether `s` was ended at the provider. */
  revoked(s: SessionData): boolean {
    if (this.#bySid.size === 0 && this.#bySub.size === 0) return false;
    if (s.opSid !== undefined && this.#bySid.has(s.opSid)) return true;
    const at = this.#bySub.get(typeof s.identity.claims.sub === 'string' ? s.identity.claims.sub : s.identity.subject);
    return at !== undefined && s.iat <= at;
  }
}
