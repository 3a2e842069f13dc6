import { Type } from '@sinclair/typebox';
import { Duration, StringOrList, Strict } from '../../config/types.js';
import { claimMappingSchema } from '../claims-schema.js';
import { LoginSchema } from '../session/schema.js';

export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

const ClaimMapping = claimMappingSchema('Claim', '`sub`', 'Which claims fill the normalized identity. Each field overrides the default for that field only.');

export const OidcProviderSchema = Strict({
  type: Type.Literal('oidc', { description: 'OpenID Connect / JWT bearer tokens.' }),
  issuer: Type.String({ minLength: 1, description: 'Expected `iss`. Unless `jwksUri` is set, `{issuer}/.well-known/openid-configuration` is fetched to find the keys. With `preset: entra-id` it may contain `{tenantid}` (multi-tenant app; then `jwksUri` and `tenants` are required).' }),
  jwksUri: Type.Optional(Type.String({ minLength: 1, description: 'Fetch keys from this JWKS URL instead of discovery.' })),
  audience: StringOrList('Accepted `aud` value(s); the token must carry at least one.'),
  algorithms: Type.Array(Type.Union(JWT_ALGORITHMS.map((a) => Type.Literal(a))), {
    minItems: 1, default: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    description: 'Allowed signature algorithms. `none` and HMAC algorithms are never accepted.',
  }),
  clockSkew: Duration('Tolerance applied to `exp`, `nbf` and `iat`.', '60s'),
  maxTokenAge: Type.Optional(Duration('Refuse tokens whose `iat` is older than this.')),
  typ: Type.Optional(Type.String({ minLength: 1, description: 'Required JOSE header `typ` (e.g. `at+jwt` for RFC 9068 access tokens).' })),
  refreshInterval: Duration('Keys are refetched this often in the background.', '10m'),
  unknownKeyCooldown: Duration('Least time between refetches triggered by an unknown `kid`.', '30s'),
  fetchTimeout: Duration('Timeout for discovery and JWKS requests.', '5s'),
  ca: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA bundle to trust when fetching discovery and keys (e.g. `${file:/ca.pem}`).' })),
  claims: Type.Optional(ClaimMapping),
  preset: Type.Optional(Type.Union((['entra-id', 'okta', 'cognito', 'auth0', 'keycloak', 'google'] as const).map((p) => Type.Literal(p)), {
    description: 'Claim mapping, issuer rules and quirks of a known identity provider (see docs/providers/oidc-presets.md). `claims` still overrides the mapping field by field.',
  })),
  tenants: Type.Optional(Type.Array(Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' }), {
    minItems: 1, description: '`entra-id` with an `issuer` containing `{tenantid}` (multi-tenant app): the tenant ids (`tid`) accepted. Required there, refused elsewhere.',
  })),
  tokenVersions: Type.Optional(Type.Array(Type.Union([Type.Literal('1.0'), Type.Literal('2.0')]), {
    minItems: 1, description: '`entra-id`: accepted token formats: `1.0` (issuer `https://sts.windows.net/{tid}/`) and `2.0` (the `issuer` form). Default both.',
  })),
  tokenUse: Type.Optional(Type.Union([Type.Literal('access'), Type.Literal('id')], {
    description: '`cognito`: the accepted `token_use`. `access` (the default) checks `client_id` against `audience`; `id` checks `aud`.',
  })),
  clientId: Type.Optional(Type.String({ minLength: 1, description: '`keycloak`: the client whose `resource_access.<clientId>.roles` become roles. Default: each `audience` value.' })),
  hostedDomain: Type.Optional(StringOrList('`google`: require the `hd` claim (Google Workspace domain) to be one of these.')),
  requireEmailVerified: Type.Optional(Type.Boolean({ description: '`google`: refuse tokens whose `email_verified` is not true.' })),
  login: Type.Optional(LoginSchema),
}, 'An OpenID Connect provider or any issuer of JWT bearer tokens.');
