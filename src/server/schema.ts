import { Type } from '@sinclair/typebox';
import { Duration, Size, Strict } from '../config/types.js';
import { DashboardSchema } from '../admin/dashboard/schema.js';

const Tls = Strict({
  cert: Type.String({ minLength: 1, description: 'PEM certificate chain (usually `${file:/path/cert.pem}`).' }),
  key: Type.String({ minLength: 1, secret: true, description: 'PEM private key (usually `${file:/path/key.pem}`).' }),
  clientCa: Type.Optional(Type.String({ minLength: 1, description: 'PEM bundle of the CAs whose client certificates are trusted (usually `${file:/path/clients-ca.pem}`). Only these verify a client certificate; the system roots never do.' })),
  clientAuth: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('optional'), Type.Literal('required')], {
    description: 'Client certificates: `none` (not asked for), `optional` (asked for; routes with an `mtls` provider decide), `required` (the TLS handshake refuses a client without a certificate valid under `clientCa`). Default `optional` when `clientCa` is set, else `none`.',
  })),
}, 'Serve HTTPS with this certificate and key (and, with `clientCa`, verify client certificates).');

const Http2 = Type.Object({
  enabled: Type.Boolean({ default: true, description: 'On a TLS listener, offer HTTP/2 by ALPN (`h2`, then `http/1.1` for clients that do not speak it: WebSocket upgrades always arrive that way). `false`: HTTP/1.1 only. Has no effect without `tls` (see `h2c`).' }),
  h2c: Type.Boolean({ default: false, description: 'On a cleartext listener, also accept HTTP/2 with prior knowledge (RFC 9113 §3.3): a connection that opens with the HTTP/2 preface is served as HTTP/2, any other as HTTP/1.1, on the same port. Only behind a trusted hop (a load balancer speaking h2c); off by default.' }),
  maxConcurrentStreams: Type.Integer({ minimum: 1, maximum: 10000, default: 100, description: 'Streams (requests) one HTTP/2 connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused with REFUSED_STREAM. The header list limit is `maxHeaderSize` (SETTINGS_MAX_HEADER_LIST_SIZE).' }),
  maxResets: Type.Integer({ minimum: 1, default: 200, description: 'Rapid-reset protection (CVE-2023-44487): a connection whose client resets more than this many streams within `resetWindow` gets GOAWAY (ENHANCE_YOUR_CALM) and is closed.' }),
  resetWindow: Duration('The window in which `maxResets` counts the client\'s stream resets.', '10s'),
}, { additionalProperties: false, default: {}, description: 'HTTP/2 on the public listener: over TLS by ALPN, or cleartext (h2c) with prior knowledge. Header, body and time limits are the listener\'s own (`maxHeaderSize`, `maxBodySize`, `requestTimeout`, `idleTimeout`). See docs/http2.md.' });

export const ListenSchema = Strict({
  host: Type.String({ default: '0.0.0.0', description: 'Address to bind.' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'Port to bind (0 picks a free port).' }),
  tls: Type.Optional(Tls),
  http2: Http2,
  maxHeaderSize: Size('Largest request head (request line and headers) accepted; larger heads get 431.', '16kb'),
  maxBodySize: Size('Default largest request body; a route can set its own `maxBodySize`. Larger bodies get 413.', '10mb'),
  headersTimeout: Duration('Time a client has to send the whole request head.', '10s'),
  requestTimeout: Duration('Time a client has to send the whole request (head and body).', '60s'),
  idleTimeout: Duration('Keep-alive connections idle this long are closed.', '5s'),
  shutdownGrace: Duration('On SIGTERM/SIGINT, in-flight requests get this long to finish before the process exits.', '10s'),
  trustedProxies: Type.Array(Type.String({ minLength: 1 }), {
    default: [],
    description: 'Peers (IP or CIDR) whose `X-Forwarded-*`/`Forwarded` headers are trusted. Empty: the client address is always the socket peer.',
  }),
  reservedHeaders: Type.Array(Type.String({ pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$' }), {
    default: [],
    description: 'More inbound header names to strip from every request on every route (headers a backend trusts that the gateway never sets, e.g. `x-user-id`). Always stripped besides these: every identity and assertion header any route configures, every `x-gatehouse-*`, `x-forwarded-*`, `x-auth-request-*`, and the spoofable ones listed in docs/guide.md.',
  }),
  forwardedHeaders: Type.Union([Type.Literal('x-forwarded'), Type.Literal('forwarded'), Type.Literal('both')], {
    default: 'x-forwarded',
    description: 'Which headers tell the upstream about the original request: `X-Forwarded-For/-Proto/-Host`, RFC 7239 `Forwarded`, or both.',
  }),
}, 'The public listener.');

export const ForwardAuthSchema = Strict({
  path: Type.String({
    pattern: '^(/[A-Za-z0-9._~-]+)+$',
    default: '/.gatehouse/auth',
    description: 'Path of the decision endpoint on the public listener, answered before routing. A request below it (`<path>/orders/1`, Envoy `ext_authz` with `path_prefix`) describes the original request by its own path.',
  }),
  trustedProxies: Type.Optional(Type.Array(Type.String({ minLength: 1 }), {
    description: 'Peers (IP or CIDR) allowed to ask for decisions; from any other peer the endpoint answers 403 `forward_auth_untrusted_peer`. Their `X-Forwarded-*` headers are also trusted for the decided request. Absent: `listen.trustedProxies`.',
  })),
}, 'A forward-auth decision endpoint for the proxy in front (nginx `auth_request`, Traefik `ForwardAuth`, Caddy `forward_auth`, Envoy `ext_authz`): it decides the request the proxy describes with the same routes, authentication, policy and limits, and answers 200 with the identity headers or the refusal. Absent: no endpoint. See docs/forward-auth.md.');

export const AdminSchema = Strict({
  host: Type.String({ default: '127.0.0.1', description: 'Address to bind the admin listener.' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 9090, description: 'Admin port: `/healthz`, `/readyz`, `/.well-known/jwks.json`.' }),
  dashboard: Type.Optional(DashboardSchema),
}, 'The admin listener (health and readiness). Keep it off the public network.');

export const HeapSchema = Strict({
  headroom: Type.Union([
    Type.Literal('auto'),
    Type.Literal('off'),
    Size('That much headroom.'),
  ], {
    default: 'auto',
    description: 'How far the JavaScript heap may grow past what the last full garbage collection left before the next one starts. Under load V8 on its own runs a full collection every second or so on a small heap, and each stops the process for tens of milliseconds: that is most of the p99 latency. `auto`: 128 MiB, at most a quarter of the container\'s memory limit and an eighth of the V8 heap limit (`--max-old-space-size`). A size (`64mb`): that much. `off`: V8\'s own rule. The heap may always grow at least 4× its live size (V8\'s own largest factor, so full collections never come sooner than V8 alone would bring them), but never past half the container\'s memory limit: where that cannot hold, V8\'s own rule applies. Costs up to this much more resident memory per process (per worker with `workers`). See docs/guide.md#memory-and-garbage-collection.',
  }),
}, 'Garbage-collection headroom of each gateway process.');
