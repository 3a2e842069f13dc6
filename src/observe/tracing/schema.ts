/** Config of `tracing`: OpenTelemetry spans exported over OTLP/HTTP. */
import { Type, type Static } from '@sinclair/typebox';
import { Duration, Strict } from '../../config/types.js';

export const TracingSchema = Strict({
  endpoint: Type.Optional(Type.String({ pattern: '^https?://', description: 'OTLP/HTTP traces endpoint (`http://otel-collector:4318/v1/traces`). Default: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, else `http://localhost:4318/v1/traces`.' })),
  protocol: Type.Optional(Type.Union([Type.Literal('http/protobuf'), Type.Literal('http/json')], { description: 'OTLP encoding of the exports. Default: `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`, else `http/protobuf` (OTLP\'s default; `grpc` is not supported and falls back to it with a warning).' })),
  headers: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9-]+$' }), Type.String({ secret: true }), { description: 'Headers sent with each export (an API key of a tracing service: a secret reference). Default: `OTEL_EXPORTER_OTLP_HEADERS`.' })),
  ratio: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Share of new traces sampled (by trace id). A trusted caller\'s sampled flag decides for its trace (parent-based). Default: `OTEL_TRACES_SAMPLER_ARG`, else 1.' })),
  serviceName: Type.Optional(Type.String({ minLength: 1, description: '`service.name` of the spans. Default: `OTEL_SERVICE_NAME`, else `gatehouse`.' })),
  trustInbound: Type.Union([Type.Literal('trustedProxies'), Type.Literal('all'), Type.Literal('none')], {
    default: 'trustedProxies',
    description: 'Whose `traceparent`/`tracestate` continue into our spans and upstream: callers in `listen.trustedProxies` (default), `all` (an internal gateway), or `none`. Another caller\'s trace context starts a new trace (so a client cannot force sampling).',
  }),
  maxQueueSize: Type.Integer({ minimum: 1, default: 2048, description: 'Most finished spans waiting for export; beyond it new spans are dropped (a dead collector costs bounded memory, and never blocks a request).' }),
  exportTimeout: Duration('How long one export may take.', '10s'),
}, 'OpenTelemetry tracing: a span per request with a child per pipeline stage, exported over OTLP/HTTP (off unless this section or `OTEL_TRACES_EXPORTER=otlp` is set; `OTEL_SDK_DISABLED=true` turns it off). Read at start only.');

export type TracingConfig = Static<typeof TracingSchema>;
