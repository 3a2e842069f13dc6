import { Type } from '@sinclair/typebox';
import { Duration, Strict } from '../config/types.js';
import { CredentialSchema } from './credentials/registry.js';

export const IDENTITY_FIELDS = ['provider', 'issuer', 'subject', 'clientId', 'tenant', 'roles', 'groups', 'scopes', 'authMethod'] as const;

/** What every upstream kind says about the caller's credentials and identity on the way out. */
export const OutboundFields = {
  forwardAuthorization: Type.Boolean({ default: false, description: 'Forward the inbound `Authorization` header. Off by default: credentials meant for the gateway stay at the gateway.' }),
  identityHeaders: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9-]+$' }), Type.Union(IDENTITY_FIELDS.map((f) => Type.Literal(f))), {
    additionalProperties: false,
    description: 'Headers to inject, name → identity field (lists joined by commas). Default: `x-gatehouse-subject`, `-provider`, `-issuer`, `-client-id`, `-tenant`, `-roles`, `-groups`, `-scopes`, `-auth-method`. Inbound headers with these names, and any `x-gatehouse-*`, are always stripped.',
  })),
  assertion: Type.Optional(Type.Union([Type.Boolean(), Strict({
    header: Type.String({ default: 'x-gatehouse-assertion', description: 'Header carrying the assertion.' }),
    ttl: Duration('Lifetime of each assertion.', '60s'),
    audience: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, pattern: '^[\\x21-\\x7e]+$', description: 'Value such as `api://orders-vm` (one value, no spaces). The `aud` of the assertions sent to this upstream, what the backend checks; default: the route name.' })),
    issuer: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, pattern: '^[\\x21-\\x7e]+$', description: 'Value such as `https://gatehouse.example.com/vms` (one value, no spaces). The `iss` of the assertions sent to this upstream; default: `assertion.issuer`. The signing key is the gateway\'s either way (`/.well-known/jwks.json`).' })),
  }, 'Signed identity assertion settings.')], {
    description: 'Send a short-lived ES256 JWT with the caller identity, audience = route name (or `audience`), verifiable at `/.well-known/jwks.json`.',
  })),
  auth: Type.Optional(Type.Array(CredentialSchema, {
    minItems: 1,
    description: 'How the gateway proves itself to this backend, applied in order after header hygiene (see docs/upstream-credentials.md). The audit line names each credential used (kind and whose, never the secret).',
  })),
};

/** The outbound fields as one object schema (their type, for the code that reads them). */
export const OutboundSchema = Type.Object(OutboundFields);

export const AssertionKeySchema = Strict({
  issuer: Type.String({ default: 'gatehouse', description: '`iss` of identity assertions.' }),
  privateKey: Type.Optional(Type.String({ minLength: 1, secret: true, description: 'PEM (PKCS#8) P-256 private key. Absent: a key is generated at start and shared by every worker (assertions then verify only against this gateway\'s JWKS until it restarts).' })),
}, 'The key that signs identity assertions.');
