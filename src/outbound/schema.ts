import { Type } from '@sinclair/typebox';
import { Duration, Strict } from '../config/types.js';

export const IDENTITY_FIELDS = ['provider', 'issuer', 'subject', 'clientId', 'tenant', 'roles', 'groups', 'scopes', 'authMethod'] as const;

export const UpstreamSchema = Strict({
  url: Type.String({ pattern: '^https?://', description: 'Base URL of the upstream (`http://` or `https://`). A path in it is prefixed to the request path.' }),
  stripPrefix: Type.Optional(Type.String({ pattern: '^/', description: 'Remove this prefix from the normalized path before forwarding.' })),
  ca: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA bundle to trust for an `https://` upstream.' })),
  serverName: Type.Optional(Type.String({ minLength: 1, description: 'TLS server name (SNI and certificate check) when it differs from the URL host.' })),
  connectTimeout: Duration('Time to open a connection to the upstream (502 on expiry).', '5s'),
  headersTimeout: Duration('Time for the upstream to send response headers (504 on expiry).', '30s'),
  bodyTimeout: Duration('Longest silence while streaming the response body (the response is cut on expiry).', '60s'),
  connections: Type.Integer({ minimum: 1, default: 128, description: 'Most keep-alive connections per upstream.' }),
  maxInFlight: Type.Optional(Type.Integer({ minimum: 1, description: 'Most requests in flight to this upstream origin across all routes that use it, per gateway process; beyond it 503 `concurrency_limited`.' })),
  forwardAuthorization: Type.Boolean({ default: false, description: 'Forward the inbound `Authorization` header. Off by default: credentials meant for the gateway stay at the gateway.' }),
  preserveHost: Type.Boolean({ default: false, description: 'Send the inbound `Host` to the upstream instead of the upstream URL host.' }),
  identityHeaders: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9-]+$' }), Type.Union(IDENTITY_FIELDS.map((f) => Type.Literal(f))), {
    additionalProperties: false,
    description: 'Headers to inject, name → identity field (lists joined by commas). Default: `x-gatehouse-subject`, `-provider`, `-issuer`, `-client-id`, `-tenant`, `-roles`, `-groups`, `-scopes`, `-auth-method`. Inbound headers with these names, and any `x-gatehouse-*`, are always stripped.',
  })),
  assertion: Type.Optional(Type.Union([Type.Boolean(), Strict({
    header: Type.String({ default: 'x-gatehouse-assertion', description: 'Header carrying the assertion.' }),
    ttl: Duration('Lifetime of each assertion.', '60s'),
  }, 'Signed identity assertion settings.')], {
    description: 'Send a short-lived ES256 JWT with the caller identity, audience = route name, verifiable at `/.well-known/jwks.json`.',
  })),
}, 'Where and how matched requests are forwarded.');

export const AssertionKeySchema = Strict({
  issuer: Type.String({ default: 'gatehouse', description: '`iss` of identity assertions.' }),
  privateKey: Type.Optional(Type.String({ minLength: 1, description: 'PEM (PKCS#8) P-256 private key. Absent: a key is generated at start and shared by every worker (assertions then verify only against this gateway\'s JWKS until it restarts).' })),
}, 'The key that signs identity assertions.');
