/**
 * The gateway's own access token by the client credentials grant, as a TokenSource: cached until
 * `refreshBefore` ahead of its expiry, one request in flight at a time (ExpiringCache). The `oauth2`
 * credential presents it; other kinds trade it (SigV4's AssumeRoleWithWebIdentity).
 */
import { parseDuration } from '../../../config/units.js';
import { ExpiringCache } from '../expiring.js';
import type { AssertionSigner } from '../../assertion.js';
import type { TokenSource } from '../token-source.js';
import { createTokenClient, type TokenClient } from './client.js';
import type { OAuth2ClientConfig } from './schema.js';

/** What building an OAuth2 credential uses besides its config (registry.ts's CredentialContext is one). */
export interface OAuth2Context {
  /** Directory of the config file (a relative `clientAssertionFile` resolves against it). */
  readonly baseDir: string;
  /** The identity assertion signer (token exchange with `subject: assertion`). */
  readonly signer?: AssertionSigner | undefined;
}

/** The one cache key: a client credentials token belongs to the configuration, not to a caller. */
const KEY = 'token';

/** A TokenSource with the client it fetches through (the audit line names the client and the endpoint). */
export interface OAuth2TokenSource extends TokenSource {
  readonly client: TokenClient;
}

/** The form parameters of the grant, fixed per configuration. */
export function clientCredentialsParams(cfg: Pick<OAuth2ClientConfig, 'scope' | 'resource' | 'audience'>): Record<string, string> {
  const params: Record<string, string> = {};
  if (cfg.scope !== undefined) params.scope = typeof cfg.scope === 'string' ? cfg.scope : cfg.scope.join(' ');
  if (cfg.resource !== undefined) params.resource = cfg.resource;
  if (cfg.audience !== undefined) params.audience = cfg.audience;
  return params;
}

/** Secret values of a client config, removed from any text an endpoint sends back. */
export function redactor(values: readonly (string | undefined)[]): { redact(text: string): string } {
  const secrets = values.filter((v): v is string => v !== undefined && v.length >= 4);
  return { redact: (text) => secrets.reduce((t, s) => t.split(s).join('REDACTED'), text) };
}

/** The gateway's access token for `cfg` (client credentials grant). */
export function oauth2TokenSource(cfg: OAuth2ClientConfig, ctx: OAuth2Context, opts: { now?: () => number } = {}): OAuth2TokenSource {
  const client = createTokenClient(cfg, ctx.baseDir, redactor([cfg.clientSecret]));
  const params = clientCredentialsParams(cfg);
  const cache = new ExpiringCache<{ token: string }>({
    max: 1,
    refreshBeforeMs: parseDuration(cfg.refreshBefore ?? '60s'),
    load: async () => {
      const issued = await client.grant('client_credentials', params);
      return { value: { token: issued.accessToken }, expiresAt: issued.expiresAt };
    },
    ...(opts.now ? { now: opts.now } : {}),
  });
  return {
    client,
    get label() { return `${client.clientId} at ${client.tokenUrl}`; },
    peek: () => cache.peek(KEY)?.token,
    token: () => cache.get(KEY).then((v) => v.token),
    async start() {
      await client.start();
      // Warm the cache so the first request does not wait; a failure is retried by the first request.
      await cache.get(KEY).catch(() => undefined);
    },
    close() {
      client.close();
      cache.clear();
    },
  };
}
