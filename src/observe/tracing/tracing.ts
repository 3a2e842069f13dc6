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
import type { TracingConfig } from './schema.js';
import type { Protocol, Tracing } from './types.js';

export type { Protocol, TraceStart, Tracing } from './types.js';

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
export async function startTracing(cfg: TracingConfig | undefined, env: NodeJS.ProcessEnv = process.env, warn: (message: string) => void = () => {}): Promise<Tracing | undefined> {
  if (env.OTEL_SDK_DISABLED === 'true') return undefined;
  const fromEnv = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((s) => s.trim()).includes('otlp');
  if (cfg === undefined && !fromEnv) return undefined;
  const settings: TracingConfig = cfg ?? { trustInbound: 'trustedProxies', maxQueueSize: 2048, exportTimeout: '10s' };
  const protocol = protocolOf(settings, env, warn);
  const { createTracing } = await import('./otel.js');
  return createTracing(settings, protocol, env);
}
