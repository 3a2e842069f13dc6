import { Type } from '@sinclair/typebox';
import { Duration, Strict } from '../../config/types.js';

/** The `type: sigv4` provider: callers sign requests with AWS Signature Version 4, as for API Gateway's IAM authorization. */
export const SigV4ProviderSchema = Strict({
  type: Type.Literal('sigv4', { description: 'AWS Signature Version 4 signed requests (header or presigned URL).' }),
  service: Type.String({
    pattern: '^[a-z0-9][a-z0-9-]*$',
    description: 'Service name the credential scope must carry, e.g. `execute-api` (what API Gateway verifies). `s3` switches to S3 rules: the path is signed as sent, not normalized or encoded again.',
  }),
  region: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$', description: 'Region the credential scope must carry, e.g. `us-east-1`.' }),
  credentials: Type.String({
    minLength: 1,
    description: 'Key file (YAML or JSON; relative to the config file): access key id → `secret`, `principal`, `roles`, `groups`, `scopes`, `sessionToken`, `expiresAt`. Re-read when it changes; a file that fails to load keeps the previous keys.',
  }),
  allowUnsignedPayload: Type.Optional(Type.Boolean({
    description: 'Accept `UNSIGNED-PAYLOAD` instead of a body hash; such bodies stream through unread and are not covered by the signature. Default false.',
  })),
  clockSkew: Duration('How far `x-amz-date` may be from the gateway clock.', '5m'),
}, 'AWS SigV4 (IAM-style) signed requests, verified against access keys from a key file.');
