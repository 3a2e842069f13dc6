/**
 * The OpenTelemetry SDK side of tracing (tracing.ts says how it works): loaded only when tracing is on,
 * so a gateway without it does not carry the SDK and its exporters in its heap.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Tracer } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, SamplingDecision, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { parseDuration } from '../../config/units.js';
import type { RequestRecord } from '../events.js';
import { parseTraceparent, randomHex } from '../trace.js';
import type { TracingConfig } from './schema.js';
import type { TraceMarks } from './marks.js';
import { requestAttributes, stageAttributes } from './attributes.js';
import type { Protocol, Tracing } from './types.js';

const MAX_TRACESTATE = 512;

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

/** The SDK, its exporter and the request subscriber, for settings startTracing resolved. */
export function createTracing(settings: TracingConfig, protocol: Protocol, env: NodeJS.ProcessEnv): Tracing {
  const Exporter = protocol === 'http/json' ? JsonExporter : ProtobufExporter;
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
