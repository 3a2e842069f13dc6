/**
 * Sessions the provider ended (OIDC Back-Channel Logout): by the provider's session id, or every
 * session of a subject signed in before the logout. Kept in process memory for as long as a session
 * can live; with several processes or replicas each must receive the logout (a shared store is future work).
 */
import { LRUCache } from 'lru-cache';
import type { SessionData } from './session-data.js';

const MAX = 100_000;

/** What a logout names: the provider's session id, or a subject (all its sessions signed in by `at`). */
export interface Revocation {
  readonly sid?: string | undefined;
  readonly sub?: string | undefined;
  readonly at?: number | undefined;
}

/** Where revocations are recorded and heard: this process only, or shared (redis-revocations.ts). */
export interface RevocationStore {
  /** Whether `s` was ended at the provider (answered from memory, whichever store). */
  revoked(s: SessionData): boolean;
  /** Record a revocation (shared stores: for every process, and for processes started later). */
  revoke(by: Revocation): Promise<void>;
  start(): Promise<void>;
  close(): void;
}

/** What a refresh ends in: a sealed session value, or why the session ended. */
export type RefreshOutcome = string | 'session_expired' | 'provider_unavailable';

/** Makes one refresh per session generation happen once: in this process, or across processes (Redis). */
export interface RefreshCoordinator {
  /** `run` here, or the outcome of whoever runs it for `key` (session id and token expiry). */
  once(key: string, run: () => Promise<RefreshOutcome>): Promise<RefreshOutcome>;
}

/** Within one process the manager's own single-flight map suffices. */
export const LOCAL_REFRESH: RefreshCoordinator = { once: (_key, run) => run() };

/** Revocations of this process only. */
export function memoryRevocations(lifetimeSec: number): RevocationStore {
  const held = new Revocations(lifetimeSec);
  return { revoked: (s) => held.revoked(s), revoke: async (by) => held.revoke(by), start: async () => {}, close: () => {} };
}

export class Revocations {
  readonly #bySid: LRUCache<string, true>;
  /** Subject → epoch seconds of its logout: sessions signed in at or before it are over. */
  readonly #bySub: LRUCache<string, number>;

  constructor(lifetimeSec: number) {
    this.#bySid = new LRUCache({ max: MAX, ttl: lifetimeSec * 1000 });
    this.#bySub = new LRUCache({ max: MAX, ttl: lifetimeSec * 1000 });
  }

  /** End the sessions a logout token names (`at`: when, for a subject; default now). */
  revoke(by: Revocation): void {
    if (by.sid !== undefined) this.#bySid.set(by.sid, true);
    else if (by.sub !== undefined) this.#bySub.set(by.sub, by.at ?? Math.floor(Date.now() / 1000));
  }

  /** Whether `s` was ended at the provider. */
  revoked(s: SessionData): boolean {
    if (this.#bySid.size === 0 && this.#bySub.size === 0) return false;
    if (s.opSid !== undefined && this.#bySid.has(s.opSid)) return true;
    const at = this.#bySub.get(typeof s.identity.claims.sub === 'string' ? s.identity.claims.sub : s.identity.subject);
    return at !== undefined && s.iat <= at;
  }
}
