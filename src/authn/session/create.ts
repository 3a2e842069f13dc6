/** Build a provider's browser sign-in from its config: sealer, relying party, sessions, flow, authenticator. */
import type { Static } from '@sinclair/typebox';
import { parseDuration } from '../../config/units.js';
import { compilePreset } from '../../identity/presets.js';
import type { OidcProviderSchema } from '../jwt/schema.js';
import { createLoginFlow } from './login.js';
import { SessionManager } from './manager.js';
import { createRelyingParty } from './oidc-client.js';
import { createSealer, type Sealer } from './seal.js';
import { storedSealer } from './stored-sealer.js';
import { LOCAL_REFRESH, memoryRevocations } from './revocations.js';
import { redisShared } from './redis-shared.js';
import { createSessionAuthenticator, type SessionAuthenticator } from './session.js';

/** The session authenticator of provider `name` (its config has a `login` block). */
export function createSession(name: string, cfg: Static<typeof OidcProviderSchema>): SessionAuthenticator {
  const login = cfg.login;
  if (login === undefined) throw new Error(`provider "${name}" has no login block`);
  const { claims, rules } = compilePreset(name, cfg);
  const rp = createRelyingParty(cfg.issuer, login, parseDuration(login.timeout ?? '10s'));
  const absoluteSec = parseDuration(login.absoluteTimeout ?? '24h') / 1000;
  const { revocations, refreshes } = login.redis === undefined
    ? { revocations: memoryRevocations(absoluteSec), refreshes: LOCAL_REFRESH }
    : redisShared({ url: login.redis.url, prefix: login.redis.prefix ?? 'gatehouse:', provider: name, lifetimeSec: absoluteSec });
  const cookieSealer = createSealer(login.keys);
  const manager = new SessionManager({
    provider: name,
    cookieName: login.cookie?.name ?? 'gh_session',
    idleSec: parseDuration(login.idleTimeout ?? '8h') / 1000,
    absoluteSec,
    refreshBeforeSec: parseDuration(login.refreshBefore ?? '60s') / 1000,
    keep: { claims: login.keepClaims ?? [], groups: login.groups === undefined ? undefined : new Set(login.groups) },
    mapping: claims,
    rules,
  }, sealerFor(name, login, absoluteSec, cookieSealer), rp, revocations, refreshes, cookieSealer);
  const flow = createLoginFlow(manager, {
    issuer: cfg.issuer,
    clientId: login.clientId,
    redirectPath: login.redirectPath ?? '/.gatehouse/callback',
    baseUrl: login.baseUrl,
    postLogoutRedirects: login.postLogoutRedirects ?? [],
  });
  return createSessionAuthenticator(manager, flow, { baseUrl: login.baseUrl, allowedOrigins: login.allowedOrigins ?? [] });
}

/** Sessions sealed into the cookie, or (with `login.redis.store`) sealed into Redis with a handle in the cookie. */
function sealerFor(name: string, login: NonNullable<Static<typeof OidcProviderSchema>['login']>, lifetimeSec: number, sealer: Sealer): Sealer {
  const redis = login.redis;
  return redis?.store === true ? storedSealer(sealer, { url: redis.url, prefix: redis.prefix ?? 'gatehouse:', provider: name, lifetimeSec }) : sealer;
}
