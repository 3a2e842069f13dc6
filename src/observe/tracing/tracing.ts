/**
 * OpenTelemetry tracing. The sampling decision is made once when a request arrives (parent-based:
 * a trusted caller's sampled flag, else the ratio sampler on the trace id), so an unsampled request
 * costs one sampler call and nothing else. A sampled request carries a TraceMarks on its context:
 * each stage appends its end time (pipeline/stage.ts), and when the request ends its spans are
 * built at once — the request (SERVER), then one child per stage, each from the previous stage's
 * end to its own — and handed to the SDK's batch processor, which exports over OTLP/HTTP off the
 * request path with a bounded queue (OTLP protobuf by default, or JSON). The `upstream` span's id is the one sent upstream in
 * `traceparent` (and into broker messages), so the backend's spans hang under it.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Tracer } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, SamplingDecision, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingHttpHeaders } from 'node:http';
import { parseDuration } from '../../config/units.js';
import type { RequestRecord } from '../events.js';
import { parseTraceparent, randomHex } from '../trace.js';
import type { TracingConfig } from './schema.js';
import type { TraceMarks } from './marks.js';
import { requestAttributes, stageAttributes } from './attributes.js';

/** What a request starts with: the trace context to send on, and its marks when sampled. */
export interface TraceStart {
  readonly traceparent: string;
  readonly tracestate: string | undefined;
  readonly trace: TraceMarks | undefined;
}

const MAX_TRACESTATE = 512;

export interface Tracing {
  begin(headers: IncomingHttpHeaders, trustedCaller: boolean): TraceStart;
  /** Export what is queued (bounded by the export timeout) and stop. */
  shutdown(): Promise<void>;
}

const positive = (text: string | undefined): number | undefined => (text !== undefined && Number(text) > 0 ? Number(text) : undefined);

/** The sampling ratio from the config, else the standard variables, else 1. */
function ratioOf(cfg: TracingConfig, env: NodeJS.ProcessEnv): number {
  if (cfg.ratio !== undefined) return cfg.ratio;
  const sampler = env.OTEL_TRACES_SAMPLER;
  if (sampler === 'always_off' || sampler === 'parentbased_always_off') return 0;
  if (sampler === 'traceidratio' || sampler === 'parentbased_traceidratio') {
    const arg = Number(env.OTEL_TRACES_SAMPLER_ARG);
    return arg >= 0 && arg <= 1 ? arg : 1;
  }
  return 1;
}

type Protocol = NonNullable<TracingConfig['protocol']>;

/**
 * The export encoding: the config's, else the standard variables', else protobuf (OTLP's default).
 * A variable asking for what we cannot send (`grpc`) is reported through `warn` and falls back.
 */
export function protocolOf(cfg: TracingConfig, env: NodeJS.ProcessEnv, warn: (message: string) => void): Protocol {
  if (cfg.protocol !== undefined) return cfg.protocol;
  const name = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const asked = env[name]?.trim() || 'http/protobuf';
  if (asked === 'http/protobuf' || asked === 'http/json') return asked;
  warn(`${name}=${asked} is not supported (only http/protobuf and http/json): traces are exported as http/protobuf`);
  return 'http/protobuf';
}

/** Tracing as `cfg` (and the OTEL_* variables) ask; undefined when off. Problems with the variables go to `warn`. */
export function startTracing(cfg: TracingConfig | undefined, env: NodeJS.ProcessEnv = process.env, warn: (message: string) => void = () => {}): Tracing | undefined {
  if (env.OTEL_SDK_DISABLED === 'true') return undefined;
  const fromEnv = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((s) => s.trim()).includes('otlp');
  if (cfg === undefined && !fromEnv) return undefined;
  const settings: TracingConfig = cfg ?? { trustInbound: 'trustedProxies', maxQueueSize: 2048, exportTimeout: '10s' };
  const Exporter = protocolOf(settings, env, warn) === 'http/json' ? JsonExporter : ProtobufExporter;
  const exporter = new Exporter({
    ...(settings.endpoint !== undefined ? { url: settings.endpoint } : {}),
    ...(settings.headers !== undefined ? { headers: settings.headers } : {}),
    timeoutMillis: parseDuration(settings.exportTimeout),
  });
  // The ids of the next span, chosen before it is started (the request's and the upstream's are decided at arrival).
  const next: { traceId: string | undefined; spanId: string | undefined } = { traceId: undefined, spanId: undefined };
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': settings.serviceName ?? env.OTEL_SERVICE_NAME ?? 'gatehouse' }),
    idGenerator: {
      generateTraceId: () => next.traceId ?? randomHex(16),
      generateSpanId: () => { const id = next.spanId ?? randomHex(8); next.spanId = undefined; return id; },
    },
    spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: settings.maxQueueSize, exportTimeoutMillis: parseDuration(settings.exportTimeout), scheduledDelayMillis: positive(env.OTEL_BSP_SCHEDULE_DELAY) ?? 1000 })],
  });
  const tracer = provider.getTracer('gatehouse');
  const ratio = new TraceIdRatioBasedSampler(ratioOf(settings, env));
  const trust = settings.trustInbound;
  const onEnd = (message: unknown): void => {
    const record = message as RequestRecord;
    if (record.trace !== undefined) emitSpans(tracer, next, record, record.trace);
  };
  subscribe('gatehouse:request:end', onEnd);
  return {
    begin(headers, trustedCaller) {
      const inbound = trust === 'all' || (trust === 'trustedProxies' && trustedCaller) ? parseTraceparent(headers.traceparent as string | undefined) : undefined;
      const traceId = inbound?.traceId ?? randomHex(16);
      const sampled = inbound !== undefined ? (parseInt(inbound.flags, 16) & 1) === 1 : ratio.shouldSample(ROOT_CONTEXT, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
      const upstreamSpanId = randomHex(8);
      const state = inbound === undefined ? undefined : headers.tracestate;
      const tracestate = typeof state === 'string' && state.length <= MAX_TRACESTATE ? state : undefined;
      return {
        traceparent: `00-${traceId}-${upstreamSpanId}-${sampled ? '01' : '00'}`,
        tracestate,
        trace: sampled
          ? { traceId, spanId: randomHex(8), upstreamSpanId, parent: inbound && { spanId: inbound.spanId, sampled: true, traceState: tracestate }, start: performance.now(), marks: [] }
          : undefined,
      };
    },
    async shutdown() {
      unsubscribe('gatehouse:request:end', onEnd);
      await provider.shutdown().catch(() => undefined);
    },
  };
}

/** The request's spans, from its record and marks. */
function emitSpans(tracer: Tracer, next: { traceId: string | undefined; spanId: string | undefined }, record: RequestRecord, t: TraceMarks): void {
  const epoch = (mark: number): number => record.time + (mark - t.start);
  const parent = t.parent === undefined
    ? ROOT_CONTEXT
    : trace.setSpanContext(ROOT_CONTEXT, {
      traceId: t.traceId, spanId: t.parent.spanId, traceFlags: 1, isRemote: true,
      ...(t.parent.traceState !== undefined ? { traceState: new TraceState(t.parent.traceState) } : {}),
    });
  next.traceId = t.traceId;
  next.spanId = t.spanId;
  const root = tracer.startSpan(`${record.method} ${record.route ?? '(no route)'}`, { kind: SpanKind.SERVER, startTime: record.time, attributes: requestAttributes(record) }, parent);
  next.traceId = undefined;
  if (record.status >= 500 || record.status === 0) root.setStatus({ code: SpanStatusCode.ERROR, ...(record.error !== undefined ? { message: record.error } : {}) });
  const inRoot = trace.setSpan(ROOT_CONTEXT, root);
  let from = record.time;
  const m = t.marks;
  for (let i = 0; i < m.length; i += 3) {
    const stage = m[i] as string;
    // Consecutive steps of one stage (the outbound steps) are one span.
    let end = i;
    while (end + 3 < m.length && m[end + 3] === stage && m[end + 2] === undefined) end += 3;
    const code = m[end + 2] as string | undefined;
    const to = epoch(m[end + 1] as number);
    const upstream = stage === 'upstream';
    if (upstream) next.spanId = t.upstreamSpanId;
    const attributes: Attributes = stageAttributes(stage, record);
    if (code !== undefined) attributes['gatehouse.refusal'] = code;
    const span = tracer.startSpan(stage, { kind: upstream ? (record.message !== undefined ? SpanKind.PRODUCER : SpanKind.CLIENT) : SpanKind.INTERNAL, startTime: from, attributes }, inRoot);
    if (code !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: code });
    span.end(to);
    from = to;
    i = end;
  }
  root.end(record.time + record.durationMs);
}
