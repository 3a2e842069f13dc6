/** What a sampled request carries for tracing (tracing.ts builds its spans from it). */
/** A sampled request's trace: ids chosen at arrival and the stages' end times. */
export interface TraceMarks {
  readonly traceId: string;
  /** The request span. */
  readonly spanId: string;
  /** The span id sent upstream: the `upstream` stage's span. */
  readonly upstreamSpanId: string;
  readonly parent: { readonly spanId: string; readonly sampled: boolean; readonly traceState: string | undefined } | undefined;
  /** performance.now() when the request arrived (the record's `time` is the same moment in epoch ms). */
  readonly start: number;
  /** Flat triples: stage name, performance.now() at its end, refusal code or undefined. */
  readonly marks: (string | number | undefined)[];
}
