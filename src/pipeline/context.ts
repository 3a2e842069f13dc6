/**
 * One RequestContext per request: what the stages share, in one object with one shape. No stage
 * passes per-request data any other way (no module-level maps, no positional argument lists).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Refusal } from '../errors.js';
import type { Identity } from '../identity/identity.js';
import type { RequestRecord } from '../observe/events.js';
import { newRequestId, nextTraceparent } from '../observe/trace.js';
import { resolveClient, type ClientInfo, type TrustedProxies } from '../outbound/client.js';
import type { TraceMarks } from '../observe/tracing/marks.js';
import type { Tracing } from '../observe/tracing/tracing.js';
import type { ClientTls, Exchange } from './exchange.js';

/** What the stages need to know of the matched route (pipeline/route.ts has the whole of it). */
export interface RouteView {
  readonly name: string;
  /** Largest request body, for whoever buffers it. */
  readonly maxBodyBytes: number;
  /** The `WWW-Authenticate` challenge for a refusal on this route, when its authenticators give one. */
  challenge(refusal: Refusal): string | undefined;
  /** Browsers sign in on this route (session authenticator): refusals to them are HTML pages. */
  readonly browser?: boolean;
}

/** The request as it will be sent upstream; outbound steps edit it, the upstream sends it. */
export interface OutboundRequest {
  method: string;
  /** Path and query as sent (after prefix rewrites): what a signature covers. */
  path: string;
  headers: Record<string, string | string[]>;
  /** The buffered body when a stage read it (then sent as is); otherwise the client's body is streamed. */
  body: Buffer | undefined;
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});
const SKIPPED: RequestRecord['authn'] = Object.freeze({ result: 'skipped' });

/** The per-request state of the pipeline. */
export class RequestContext {
  readonly requestId = newRequestId();
  /** Epoch ms and monotonic ms when the request arrived (audit time and duration). */
  readonly time = Date.now();
  readonly start = performance.now();
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  readonly tls: ClientTls | undefined;
  readonly client: ClientInfo;
  readonly traceparent: string;
  /** The `tracestate` to send on: a trusted caller's (tracing on), null for none (tracing on), undefined (tracing off). */
  readonly tracestate: string | null | undefined;
  /** The request's trace when tracing sampled it: each stage marks its end (pipeline/stage.ts). */
  readonly trace: TraceMarks | undefined;
  /** Normalized path (what routing matched and what is forwarded); '' until routed. */
  path = '';
  /** The path exactly as received (SigV4 signs it). */
  rawPath = '';
  /** Raw query string without `?`. */
  query = '';
  route: RouteView | undefined = undefined;
  /** The route's path parameters (`/events/:topic` → `{ topic }`), once routed. */
  params: Readonly<Record<string, string>> = NO_PARAMS;
  identity: Identity | undefined = undefined;
  /** The request body, once a stage buffered it (readBody). */
  body: Buffer | undefined = undefined;
  outbound: OutboundRequest | undefined = undefined;
  /** The gateway's own response headers, merged into the upstream's (and into refusals); `set-cookie` may be a list. */
  responseHeaders: Record<string, string | string[]>;
  /** The audit record, filled in by each stage and published when the request ends. */
  readonly record: RequestRecord;
  #reading: Promise<Buffer> | undefined = undefined;

  constructor(readonly exchange: Exchange, trusted: TrustedProxies, tracing?: Tracing) {
    this.method = exchange.method;
    this.url = exchange.url;
    this.headers = exchange.headers;
    this.rawHeaders = exchange.rawHeaders;
    this.tls = exchange.tls;
    this.client = resolveClient(exchange.remoteAddress, exchange.encrypted, exchange.headers, trusted);
    if (tracing === undefined) {
      this.traceparent = nextTraceparent(exchange.headers.traceparent as string | undefined);
      this.tracestate = undefined;
      this.trace = undefined;
    } else {
      const started = tracing.begin(exchange.headers, trusted.isTrusted(exchange.remoteAddress));
      this.traceparent = started.traceparent;
      this.tracestate = started.tracestate ?? null;
      this.trace = started.trace;
    }
    this.responseHeaders = { 'x-request-id': this.requestId };
    // Every field present from the start: one object shape for every record.
    this.record = {
      time: this.time, requestId: this.requestId, traceparent: this.traceparent, method: this.method, path: '', query: '', host: this.client.host,
      clientAddress: this.client.address, route: undefined, identity: undefined, authn: SKIPPED, decision: undefined, limit: undefined,
      upstream: undefined, credentials: undefined, upstreamPath: undefined, upstreamTarget: undefined, upstreamRetries: undefined, upstreamStatus: undefined, status: 0, error: undefined, errorDetail: undefined, bytesIn: 0, bytesOut: 0, durationMs: 0, upstreamMs: undefined, message: undefined, websocket: undefined, grpcStatus: undefined, forwardAuth: undefined, trace: this.trace,
    };
  }

  /** Read the whole body once, bounded by the route's limit; it is then forwarded from `body`. */
  readBody(): Promise<Buffer> {
    this.#reading ??= this.exchange.readBody(this.route?.maxBodyBytes ?? 0).then((b) => (this.body = b));
    return this.#reading;
  }
}
