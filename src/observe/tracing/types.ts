/** The tracing interface the pipeline sees, apart from the SDK behind it (otel.ts). */
import type { IncomingHttpHeaders } from 'node:http';
import type { TracingConfig } from './schema.js';
import type { TraceMarks } from './marks.js';

/** What a request starts with: the trace context to send on, and its marks when sampled. */
export interface TraceStart {
  readonly traceparent: string;
  readonly tracestate: string | undefined;
  readonly trace: TraceMarks | undefined;
}

export interface Tracing {
  begin(headers: IncomingHttpHeaders, trustedCaller: boolean): TraceStart;
  /** Export what is queued (bounded by the export timeout) and stop. */
  shutdown(): Promise<void>;
}

export type Protocol = NonNullable<TracingConfig['protocol']>;
