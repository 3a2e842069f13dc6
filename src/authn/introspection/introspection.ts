/** Opaque bearer tokens checked by RFC 7662 introspection, with a bounded cache and fail-closed errors. */
import { channel } from 'node:diagnostics_channel';
import type { Static } from '@sinclair/typebox';
import { Agent } from 'undici';
import { parseDuration } from '../../config/units.js';
import { compileClaimMapping } from '../../identity/claims.js';
import type { IntrospectionProviderSchema } from './schema.js';
import { ABSENT, PENDING, type AuthnOutcome, type Authenticator, type AuthnRequest, type ProviderContext } from '../authenticator.js';
import { discoverEndpoint, introspect, IntrospectionError, requestTemplate, type IntrospectionClientOptions } from './client.js';
import { ResultCache, tokenDigest } from './cache.js';
import { judgeResponse, type ResponsePolicy } from './response.js';
import { JWT_SHAPE } from '../jwt/decode.js';

/** Published when the endpoint could not decide: `{ provider, reason }` (reason holds no token or secret). */
export const introspectionFailed = channel('gatehouse:authn:introspection-failed');

type Config = Static<typeof IntrospectionProviderSchema>;

const CACHE_SIZE = 10_000;
/** Least time between discovery attempts after one failed. */
const DISCOVERY_COOLDOWN_MS = 10_000;
/** Opaque tokens are short; a huge one is refused before it is sent anywhere. */
const MAX_TOKEN_LENGTH = 8192;
/** RFC 6750 b64token. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const malformed = (provider: string): AuthnOutcome => ({ ok: false, refusal: { code: 'token_malformed', detail: 'not a valid bearer token' }, provider });

/** The token of an `Authorization: Bearer` header; undefined for no header or another scheme. */
export function bearerToken(value: string | undefined): string | null | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  const sp = text.search(/[ \t]/);
  if ((sp < 0 ? text : text.slice(0, sp)).toLowerCase() !== 'bearer') return undefined;
  const token = sp < 0 ? '' : text.slice(sp + 1).trim();
  return token.length > 0 && token.length <= MAX_TOKEN_LENGTH && B64TOKEN.test(token) ? token : null;
}

function checkConfig(name: string, cfg: Config): void {
  if (cfg.endpoint === undefined && cfg.issuer === undefined) throw new Error(`provider "${name}": set \`endpoint\` or \`issuer\` (for discovery)`);
  for (const key of ['endpoint', 'issuer'] as const) {
    const value = cfg[key];
    if (value !== undefined && !/^https?:\/\/[^/]/i.test(value)) throw new Error(`provider "${name}": ${key} must be an http(s) URL`);
  }
}

/** Build the introspection authenticator for provider `name` (at config load). */
export function createIntrospectionAuthenticator(name: string, cfg: Config, _ctx: ProviderContext): Authenticator {
  checkConfig(name, cfg);
  const agent = cfg.ca !== undefined ? new Agent({ connect: { ca: cfg.ca } }) : undefined;
  const client: IntrospectionClientOptions = {
    clientId: cfg.clientId, clientSecret: cfg.clientSecret, clientAuth: cfg.clientAuth ?? 'client_secret_basic',
    timeoutMs: parseDuration(cfg.timeout ?? '5s'), ...(agent ? { dispatcher: agent } : {}),
  };
  const template = requestTemplate(client);
  const policy: ResponsePolicy = {
    provider: name,
    audience: cfg.audience === undefined ? [] : typeof cfg.audience === 'string' ? [cfg.audience] : cfg.audience,
    claims: compileClaimMapping({ subject: ['sub', 'client_id'], ...cfg.claims }),
    ...(cfg.issuer !== undefined ? { issuer: cfg.issuer } : {}),
  };
  const cacheTtlMs = parseDuration(cfg.cacheTtl ?? '60s');
  const negativeTtlMs = parseDuration(cfg.negativeCacheTtl ?? '0s');
  // Separate caches: a flood of bad tokens cannot evict the good ones.
  const active = new ResultCache<AuthnOutcome>(CACHE_SIZE);
  const refused = new ResultCache<AuthnOutcome>(CACHE_SIZE);
  const inFlight = new Map<string, Promise<AuthnOutcome>>();
  let endpoint = cfg.endpoint;
  let discovery: Promise<string> | undefined;
  let lastDiscovery = -Infinity;

  function resolveEndpoint(): Promise<string> {
    if (endpoint !== undefined) return Promise.resolve(endpoint);
    if (discovery) return discovery;
    if (Date.now() - lastDiscovery < DISCOVERY_COOLDOWN_MS) return Promise.reject(new IntrospectionError('introspection endpoint not discovered yet'));
    lastDiscovery = Date.now();
    discovery = discoverEndpoint(cfg.issuer!, client.timeoutMs, client.dispatcher)
      .then((url) => (endpoint = url))
      .finally(() => { discovery = undefined; });
    return discovery;
  }

  function remember(key: string, outcome: AuthnOutcome, now: number): void {
    if (outcome.ok) {
      // Never past the token's own expiry; a response without exp is trusted for cacheTtl only.
      const exp = outcome.identity.expiresAt;
      active.set(key, outcome, Math.min(now + cacheTtlMs, exp === undefined ? Infinity : exp * 1000), now);
    } else if (negativeTtlMs > 0) {
      refused.set(key, outcome, now + negativeTtlMs, now);
    }
  }

  async function check(token: string, key: string): Promise<AuthnOutcome> {
    try {
      const response = await introspect(await resolveEndpoint(), token, client, template);
      const outcome = judgeResponse(response, policy);
      remember(key, outcome, Date.now());
      return outcome;
    } catch (err) {
      if (!(err instanceof IntrospectionError)) throw err;
      if (introspectionFailed.hasSubscribers) introspectionFailed.publish({ provider: name, reason: err.reason });
      return { ok: false, refusal: { code: 'introspection_failed' }, provider: name };
    }
  }

  /**
   * The opaque token this provider decides, a refusal for a malformed one, or undefined when it is
   * not ours (not ABSENT: that is a string too, and a token may read "absent").
   */
  function tokenOf(req: AuthnRequest): string | AuthnOutcome | undefined {
    const token = bearerToken(req.headers.authorization);
    if (token === undefined) return undefined;
    if (token === null) return malformed(name);
    // A compact JWS is for the route's JWT providers to verify, not the endpoint.
    return JWT_SHAPE.test(token) ? undefined : token;
  }

  return {
    kind: 'introspection',
    credentialHeaders: ['authorization'],
    hint: 'a bearer token in the Authorization header',
    bearer: true,
    get ready() { return endpoint !== undefined; },
    probe(req: AuthnRequest) {
      const token = tokenOf(req);
      if (token === undefined) return ABSENT;
      if (typeof token !== 'string') return token;
      const key = tokenDigest(token);
      const now = Date.now();
      return active.get(key, now) ?? refused.get(key, now) ?? PENDING;
    },
    authenticate(req: AuthnRequest): Promise<AuthnOutcome | typeof ABSENT> {
      const token = tokenOf(req);
      if (token === undefined) return Promise.resolve(ABSENT);
      if (typeof token !== 'string') return Promise.resolve(token);
      const key = tokenDigest(token);
      // Concurrent requests with the same new token share one call.
      let pending = inFlight.get(key);
      if (pending === undefined) {
        pending = check(token, key).finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      return pending;
    },
    async start() {
      if (endpoint === undefined) await resolveEndpoint().catch(() => undefined);
    },
    close() {
      active.clear();
      refused.clear();
      void agent?.close();
    },
  };
}
