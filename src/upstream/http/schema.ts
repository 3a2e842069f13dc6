import { Type } from '@sinclair/typebox';
import { Duration, Strict } from '../../config/types.js';
import { OutboundFields } from '../../outbound/schema.js';
import { ResilienceFields } from './resilience-schema.js';

const TLS_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;

export const UpstreamTlsSchema = Strict({
  cert: Type.Optional(Type.String({ minLength: 1, description: 'PEM client certificate chain presented to the upstream (`${file:/path/client.pem}`: a changed file is picked up by the reload that follows; new connections use it, open ones finish with the old).' })),
  key: Type.Optional(Type.String({ minLength: 1, secret: true, description: 'PEM private key of `cert` (`${file:/path/client-key.pem}`), PKCS#8, PKCS#1 or SEC1, encrypted with `passphrase` or not.' })),
  passphrase: Type.Optional(Type.String({ minLength: 1, secret: true, description: 'Passphrase of an encrypted `key` (a secret reference).' })),
  minVersion: Type.Union(TLS_VERSIONS.map((v) => Type.Literal(v)), { default: 'TLSv1.2', description: 'Lowest TLS version offered to the upstream.' }),
}, 'Two-way TLS to an `https://` upstream: the client certificate the gateway presents and the lowest TLS version. The upstream\'s CA is pinned with `ca`, its name with `serverName` (see docs/credentials/mtls.md).');

export const HttpUpstreamSchema = Strict({
  type: Type.Optional(Type.Literal('http', { description: 'An HTTP(S) service (the default kind).' })),
  url: Type.String({ pattern: '^https?://', description: 'Base URL of the upstream (`http://` or `https://`). A path in it is prefixed to the request path.' }),
  stripPrefix: Type.Optional(Type.String({ pattern: '^/', description: 'Remove this prefix from the normalized path before forwarding.' })),
  ca: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA bundle to trust for an `https://` upstream: pinned, only these CAs verify the upstream (the system roots then do not).' })),
  serverName: Type.Optional(Type.String({ minLength: 1, description: 'TLS server name (SNI and certificate check) when it differs from the URL host.' })),
  tls: Type.Optional(UpstreamTlsSchema),
  connectTimeout: Duration('Time to open a connection to the upstream (502 on expiry).', '5s'),
  headersTimeout: Duration('Time for the upstream to send response headers (504 on expiry).', '30s'),
  bodyTimeout: Duration('Longest silence while streaming the response body (the response is cut on expiry).', '60s'),
  connections: Type.Integer({ minimum: 1, default: 128, description: 'Most keep-alive connections per upstream.' }),
  maxInFlight: Type.Optional(Type.Integer({ minimum: 1, description: 'Most requests in flight to this upstream origin across all routes that use it, per gateway process; beyond it 503 `concurrency_limited`.' })),
  http2: Type.Boolean({ default: false, description: 'Speak HTTP/2 to the upstream: offered by ALPN to an `https://` upstream (HTTP/1.1 when it declines), cleartext with prior knowledge (h2c) to an `http://` one, which must speak HTTP/2 then. Needed for gRPC upstreams (trailers); see docs/grpc.md.' }),
  preserveHost: Type.Boolean({ default: false, description: 'Send the inbound `Host` to the upstream instead of the upstream URL host.' }),
  ...ResilienceFields,
  ...OutboundFields,
}, 'An HTTP(S) upstream: where and how matched requests are forwarded.');
