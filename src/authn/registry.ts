/**
 * Provider kinds: `type` → the schema fragment of its config and the factory that builds it.
 * Adding a kind is a folder under authn/ plus one line here; the config schema's provider union
 * is derived from this table.
 */
import { Type, type Static, type TSchema, type TUnion } from '@sinclair/typebox';
import type { Authenticator, ProviderContext } from './authenticator.js';
import { OidcProviderSchema } from './jwt/schema.js';
import { jwtProviderFromConfig, type JwtProvider } from './jwt/provider.js';
import { ApiKeyProviderSchema } from './apikey/schema.js';
import { createApiKeyAuthenticator } from './apikey/apikey.js';
import { SigV4ProviderSchema } from './sigv4/schema.js';
import { createSigV4Authenticator } from './sigv4/sigv4.js';
import { MtlsProviderSchema } from './mtls/schema.js';
import { createMtlsAuthenticator } from './mtls/mtls.js';
import { IntrospectionProviderSchema } from './introspection/schema.js';
import { createIntrospectionAuthenticator } from './introspection/introspection.js';
import { createSession } from './session/create.js';
import type { SessionAuthenticator } from './session/session.js';

/**
 * A configured provider. Issuers of JWTs are grouped per route into one bearer authenticator (the
 * token's `iss` picks among them); every other kind is an authenticator of its own.
 */
export type Provider =
  | { readonly kind: 'jwt'; readonly jwt: JwtProvider; readonly session?: SessionAuthenticator }
  | { readonly kind: 'authenticator'; readonly authenticator: Authenticator };

/** Routes name a provider's browser sessions `session:<provider>` (provider names cannot contain `:`). */
export const SESSION_PREFIX = 'session:';

interface Kind<S extends TSchema> {
  readonly schema: S;
  create(name: string, cfg: Static<S>, ctx: ProviderContext): Provider;
}

const kind = <S extends TSchema>(schema: S, create: Kind<S>['create']): Kind<S> => ({ schema, create });
const authenticator = (a: Authenticator): Provider => ({ kind: 'authenticator', authenticator: a });

export const PROVIDER_KINDS = {
  oidc: kind(OidcProviderSchema, (name, cfg) => ({ kind: 'jwt', jwt: jwtProviderFromConfig(name, cfg), ...(cfg.login !== undefined ? { session: createSession(name, cfg) } : {}) })),
  'api-key': kind(ApiKeyProviderSchema, (name, cfg, ctx) => authenticator(createApiKeyAuthenticator(name, cfg, ctx))),
  sigv4: kind(SigV4ProviderSchema, (name, cfg, ctx) => authenticator(createSigV4Authenticator(name, cfg, ctx))),
  mtls: kind(MtlsProviderSchema, (name, cfg, ctx) => authenticator(createMtlsAuthenticator(name, cfg, ctx))),
  introspection: kind(IntrospectionProviderSchema, (name, cfg, ctx) => authenticator(createIntrospectionAuthenticator(name, cfg, ctx))),
};

type Kinds = typeof PROVIDER_KINDS;
type KindSchema = Kinds[keyof Kinds]['schema'];

export const ProviderSchema = Type.Union(Object.values(PROVIDER_KINDS).map((k) => k.schema), {
  description: `An identity provider; \`type\` selects the kind: ${Object.keys(PROVIDER_KINDS).map((t) => `\`${t}\``).join(', ')}.`,
}) as TUnion<KindSchema[]>;

export type ProviderConfig = Static<typeof ProviderSchema>;

/** Build provider `name` from its config (at load; nothing here runs per request). */
export function createProvider(name: string, cfg: ProviderConfig, ctx: ProviderContext): Provider {
  const k = PROVIDER_KINDS[cfg.type] as Kind<TSchema>;
  return k.create(name, cfg, ctx);
}

/** Whether the provider's state is loaded (keys fetched, key files read). */
export function providerReady(p: Provider): boolean {
  return p.kind === 'jwt' ? p.jwt.ready : p.authenticator.ready;
}

export function startProvider(p: Provider): Promise<void> {
  return p.kind === 'jwt' ? p.jwt.start() : p.authenticator.start();
}

export function closeProvider(p: Provider): void {
  if (p.kind === 'jwt') p.jwt.close();
  else p.authenticator.close();
}
