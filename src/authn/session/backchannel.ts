/**
 * OIDC Back-Channel Logout 1.0: the provider POSTs a logout token when a user's session ends there.
 * The token is verified with jose against the provider's JWKS (issuer, audience = our client id,
 * `iat`, the logout event, `sid` or `sub`, no `nonce`, not seen before) and the sessions it names
 * are revoked.
 */
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Refusal } from '../../errors.js';
import type { SessionManager } from './manager.js';

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const INVALID: Refusal = Object.freeze({ code: 'logout_token_invalid' });
const UNAVAILABLE: Refusal = Object.freeze({ code: 'provider_unavailable', detail: 'the revocation could not be shared' });
/** Logout tokens older than this are refused (and jti are remembered this long). */
const MAX_AGE_SEC = 300;

/** Verify `token` and revoke what it names; a refusal when it is not a valid logout token. */
export type BackchannelLogout = (token: string) => Promise<Refusal | undefined>;

export function createBackchannelLogout(manager: SessionManager, issuer: string, clientId: string, skewSec = 60): BackchannelLogout {
  let keys: JWTVerifyGetKey | undefined;
  const seen = new LRUCache<string, true>({ max: 100_000, ttl: (MAX_AGE_SEC + skewSec) * 1000 });
  return async (token) => {
    if (keys === undefined) {
      const uri = await manager.rp.jwksUri();
      if (uri === undefined) return INVALID;
      keys = createRemoteJWKSet(new URL(uri));
    }
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, keys, { issuer, audience: clientId, maxTokenAge: MAX_AGE_SEC, clockTolerance: skewSec, requiredClaims: ['iat', 'jti'] }));
    } catch {
      return INVALID;
    }
    const events = payload.events as Record<string, unknown> | undefined;
    const sid = typeof payload.sid === 'string' ? payload.sid : undefined;
    const sub = typeof payload.sub === 'string' ? payload.sub : undefined;
    const jti = payload.jti as string;
    if (events === null || typeof events !== 'object' || !(EVENT in events) || 'nonce' in payload || (sid === undefined && sub === undefined) || seen.has(jti)) return INVALID;
    seen.set(jti, true);
    try {
      await manager.revocations.revoke({ sid, sub });
    } catch {
      // Held in this process, but not shared: the provider may retry.
      return UNAVAILABLE;
    }
    return undefined;
  };
}
