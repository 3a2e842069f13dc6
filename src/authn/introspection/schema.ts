import { Type } from '@sinclair/typebox';
import { Duration, StringOrList, Strict } from '../../config/types.js';
import { claimMappingSchema } from '../claims-schema.js';

const ClaimMapping = claimMappingSchema('Member', '`sub`, then `client_id` (client-credentials tokens have no `sub`)', 'Which members of the introspection response fill the normalized identity. Each field overrides the default for that field only.');

export const IntrospectionProviderSchema = Strict({
  type: Type.Literal('introspection', { description: 'Opaque tokens checked at an RFC 7662 introspection endpoint.' }),
  issuer: Type.Optional(Type.String({ minLength: 1, description: 'Authorization server issuer. Unless `endpoint` is set, its `introspection_endpoint` is read from `{issuer}/.well-known/openid-configuration` (or `/.well-known/oauth-authorization-server`).' })),
  endpoint: Type.Optional(Type.String({ minLength: 1, description: 'Introspection endpoint URL (skips discovery). One of `endpoint` and `issuer` is required.' })),
  clientId: Type.String({ minLength: 1, description: 'Client id the gateway authenticates to the endpoint with.' }),
  clientSecret: Type.String({ minLength: 1, secret: true, description: 'Its secret (use `${env:NAME}` or `${file:/path}`).' }),
  clientAuth: Type.Union([Type.Literal('client_secret_basic'), Type.Literal('client_secret_post')], {
    default: 'client_secret_basic', description: 'How the client authenticates: HTTP Basic, or `client_id`/`client_secret` in the form body.',
  }),
  audience: Type.Optional(StringOrList('Accepted `aud` value(s): the response must carry at least one. Strongly recommended: without it, tokens issued for other APIs are accepted too.')),
  timeout: Duration('Time the endpoint has to answer; past it the request is refused with 503 `introspection_failed`.', '5s'),
  cacheTtl: Duration('Longest time an active result is reused without asking again (never past the token `exp`). `0s` asks on every request. Revocations take up to this long to be seen.', '60s'),
  negativeCacheTtl: Duration('How long a refusal based on the response (inactive, wrong audience) is reused for the same token. `0s`: not cached.', '0s'),
  ca: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA bundle to trust for the endpoint and discovery (e.g. `${file:/ca.pem}`).' })),
  claims: Type.Optional(ClaimMapping),
}, 'Opaque bearer tokens checked by RFC 7662 token introspection.');
