/**
 * Config of the OAuth2 outbound credentials: the client (how the gateway authenticates at a token
 * endpoint) shared by `oauth2` (client credentials) and `token-exchange` (RFC 8693, Entra OBO), and
 * other kinds that need the gateway's own token (SigV4's web identity) reuse `OAuth2ClientFields`.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Duration, StringOrList, Strict } from '../../../config/types.js';

export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'client_assertion_file'] as const;

/** How the gateway finds the token endpoint and authenticates there. */
export const OAuth2ClientAuthFields = {
  tokenUrl: Type.Optional(Type.String({ minLength: 1, description: 'Token endpoint URL (https; http only for loopback addresses). One of `tokenUrl` and `issuer` is required.' })),
  issuer: Type.Optional(Type.String({ minLength: 1, description: 'Authorization server issuer: the `token_endpoint` is read from `{issuer}/.well-known/openid-configuration` (or `/.well-known/oauth-authorization-server`).' })),
  clientId: Type.String({ minLength: 1, description: 'The gateway\'s client id at the authorization server.' }),
  clientAuth: Type.Union(CLIENT_AUTH_METHODS.map((m) => Type.Literal(m)), {
    default: 'client_secret_basic',
    description: 'Client authentication: `client_secret_basic` (HTTP Basic), `client_secret_post` (form body), `private_key_jwt` (a JWT signed with `privateKey`), `client_assertion_file` (a federated assertion read from `clientAssertionFile`: Entra workload identity, Kubernetes projected tokens).',
  }),
  clientSecret: Type.Optional(Type.String({ minLength: 1, secret: true, description: 'Client secret for `client_secret_basic` / `client_secret_post` (a reference: `${file:…}`, `${env:…}`).' })),
  privateKey: Type.Optional(Type.String({ minLength: 1, secret: true, description: 'PEM private key for `private_key_jwt` (RSA → RS256, P-256 → ES256; a reference such as `${file:/secrets/client-key.pem}`).' })),
  keyId: Type.Optional(Type.String({ minLength: 1, description: '`kid` of the client assertion header (`private_key_jwt`), as registered at the authorization server.' })),
  certificate: Type.Optional(Type.String({ minLength: 1, description: 'PEM certificate of `privateKey` (`private_key_jwt`): its SHA-1 and SHA-256 thumbprints go into the assertion header as `x5t` and `x5t#S256` (Entra ID identifies certificate credentials so).' })),
  clientAssertionFile: Type.Optional(Type.String({ minLength: 1, description: 'File holding the client assertion for `client_assertion_file` (e.g. `/var/run/secrets/azure/tokens/azure-identity-token`); re-read when it changes.' })),
  timeout: Duration('Time the token endpoint (and discovery) has to answer.', '10s'),
  ca: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA bundle to trust for the token endpoint and discovery (e.g. `${file:/ca.pem}`).' })),
  refreshBefore: Duration('Fetch a new token when less than this is left of the current one.', '60s'),
};

/** Everything needed to get the gateway's own access token by the client credentials grant. */
export const OAuth2ClientFields = {
  ...OAuth2ClientAuthFields,
  scope: Type.Optional(StringOrList('Scopes to ask for (Entra ID: `api://<backend>/.default`).')),
  resource: Type.Optional(Type.String({ minLength: 1, description: 'RFC 8707 `resource` parameter (Entra v1, oidc-provider, …).' })),
  audience: Type.Optional(Type.String({ minLength: 1, description: '`audience` form parameter (Auth0 and others that take it).' })),
};

/** The fields above as object schemas (their types, for the code that reads them). */
export const OAuth2ClientAuthSchema = Type.Object(OAuth2ClientAuthFields);
export const OAuth2ClientSchema = Type.Object(OAuth2ClientFields);

const Header = Type.String({ pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$', default: 'authorization', description: 'Header that carries `Bearer <token>`.' });

export const OAuth2CredentialSchema = Strict({
  type: Type.Literal('oauth2', { description: 'The gateway\'s own access token (OAuth2 client credentials grant).' }),
  ...OAuth2ClientFields,
  header: Header,
}, 'Present the gateway\'s own OAuth2 access token (client credentials grant), cached until shortly before it expires.');

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export const TokenExchangeCredentialSchema = Strict({
  type: Type.Literal('token-exchange', { description: 'A token for this backend, exchanged for the caller\'s (RFC 8693).' }),
  preset: Type.Optional(Type.Literal('entra-obo', { description: 'Microsoft identity platform on-behalf-of: grant `urn:ietf:params:oauth:grant-type:jwt-bearer`, `requested_token_use=on_behalf_of`, the caller\'s token as `assertion`; needs `scope`.' })),
  subject: Type.Union([Type.Literal('caller-token'), Type.Literal('assertion')], {
    default: 'caller-token',
    description: 'What is exchanged: the caller\'s bearer token (`caller-token`), or the gateway\'s signed identity assertion for the caller (`assertion`, a JWT verifiable at the gateway\'s JWKS).',
  }),
  subjectTokenType: Type.Optional(Type.String({ minLength: 1, description: 'RFC 8693 `subject_token_type`. Default: `urn:ietf:params:oauth:token-type:access_token` for the caller\'s token, `urn:ietf:params:oauth:token-type:jwt` for the assertion.' })),
  assertionAudience: Type.Optional(Type.String({ minLength: 1, description: '`aud` of the identity assertion exchanged with `subject: assertion` (default: the token endpoint URL).' })),
  assertionTtl: Duration('Lifetime of the identity assertion exchanged with `subject: assertion`.', '5m'),
  ...OAuth2ClientAuthFields,
  audience: Type.Optional(Type.String({ minLength: 1, description: 'RFC 8693 `audience`: the backend the new token is for.' })),
  scope: Type.Optional(StringOrList('Scopes of the new token (Entra OBO: `api://<backend>/.default`).')),
  resource: Type.Optional(Type.String({ minLength: 1, description: 'RFC 8693 / RFC 8707 `resource`: the backend\'s URI.' })),
  requestedTokenType: Type.Optional(Type.String({ minLength: 1, description: 'RFC 8693 `requested_token_type` (e.g. `urn:ietf:params:oauth:token-type:access_token`).' })),
  header: Header,
}, 'Exchange the caller\'s token for one for this backend (RFC 8693 token exchange, or Entra ID on-behalf-of), cached per caller token no longer than either token lives.');

/** What getting a token at an endpoint needs (the client part of either kind). */
export type OAuth2ClientAuthConfig = Static<typeof OAuth2ClientAuthSchema>;
/** The client credentials part: `oauth2TokenSource` takes it. */
export type OAuth2ClientConfig = Static<typeof OAuth2ClientSchema>;
export type OAuth2CredentialConfig = Static<typeof OAuth2CredentialSchema>;
export type TokenExchangeCredentialConfig = Static<typeof TokenExchangeCredentialSchema>;
