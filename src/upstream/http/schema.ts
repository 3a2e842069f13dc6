import { Type } from '@sinclair/typebox';
import { Duration, Strict } from '../../config/types.js';
import { OutboundFields } from '../../outbound/schema.js';

export const HttpUpstreamSchema = Strict({
  type: Type.Optional(Type.Literal('http', { description: 'An HTTP(S) service (the default kind).' })),
  url: Type.String({ pattern: '^https?://', description: 'Base URL of the upstream (`http://` or `https://`). A path in it is prefixed to the request path.' }),
  stripPrefix: Type.Optional(Type.String({ pattern: '^/', description: 'Remove this prefix from the normalized path before forwarding.' })),
  ca: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA bundle to trust for an `https://` upstream.' })),
  serverName: Type.Optional(Type.String({ minLength: 1, description: 'TLS server name (SNI and certificate check) when it differs from the URL host.' })),
  connectTimeout: Duration('Time to open a connection to the upstream (502 on expiry).', '5s'),
  headersTimeout: Duration('Time for the upstream to send response headers (504 on expiry).', '30s'),
  bodyTimeout: Duration('Longest silence while streaming the response body (the response is cut on expiry).', '60s'),
  connections: Type.Integer({ minimum: 1, default: 128, description: 'Most keep-alive connections per upstream.' }),
  maxInFlight: Type.Optional(Type.Integer({ minimum: 1, description: 'Most requests in flight to this upstream origin across all routes that use it, per gateway process; beyond it 503 `concurrency_limited`.' })),
  preserveHost: Type.Boolean({ default: false, description: 'Send the inbound `Host` to the upstream instead of the upstream URL host.' }),
  ...OutboundFields,
}, 'An HTTP(S) upstream: where and how matched requests are forwarded.');
