import { channel } from 'node:diagnostics_channel';
import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { ERRORS, type Refusal } from '../../errors.js';
import type { RequestContext } from '../../pipeline/context.js';
import type { Exchange } from '../../pipeline/exchange.js';
import type { StageResult } from '../../pipeline/stage.js';
import { connectionTokens, HOP_BY_HOP } from '../../outbound/headers.js';
import { classifyFailure } from './failure.js';
import { grpcTrailers } from '../../pipeline/grpc.js';
import { Deadline } from '../../limits/deadline.js';
import { errors } from './undici.js';
import type { UpstreamTimeouts } from './pools.js';

/** Response headers never relayed; the upstream's Connection header may name more. */
const HOP: ReadonlySet<string> = new Set(HOP_BY_HOP);

/** Published when a request is dispatched upstream: `{ ctx, origin, path }`. */
export const upstreamRequested = channel('gatehouse:upstream:request');
/** Published when the upstream's response headers arrive: `{ ctx, status }`. */
export const upstreamResponded = channel('gatehouse:upstream:response');

class Stop extends Error {}

const ABORTED: Refusal = Object.freeze({ code: 'client_aborted', detail: 'client closed the connection' });
const DEADLINE: Refusal = Object.freeze({ code: 'grpc_deadline_exceeded', detail: 'the upstream did not finish before the call\'s grpc-timeout' });

type StopReason = 'body_too_large' | 'client_aborted' | 'grpc_deadline_exceeded';

/** What the request body passes through on its way upstream (bytes counted, limit enforced). */
interface Meter {
  readonly bytes: number;
  /** undici read all of it (the upload is complete). */
  readonly readableEnded: boolean;
  /** undici stopped reading it: the upstream does not take more yet. */
  isPaused(): boolean;
  destroy(err: Error): void;
}

/**
 * What an attempt of a several-target upstream (resilient.ts) adds: the streamed body is piped only
 * once a connection is made (`onStart`), so a refused attempt has consumed none of it, and the body is
 * not discarded on failure (the sender decides, as it may retry).
 */
export interface AttemptHooks {
  onStart(): void;
}

/**
 * The undici dispatch handler for one request: writes the upstream response to the client as it
 * arrives (pausing undici while the client is slow), records the outcome and settles exactly once:
 * undefined when the client got the upstream's answer, a refusal when nothing was sent yet.
 */
export class ForwardCall extends Deadline implements Dispatcher.DispatchHandler {
  /** What a request whose client is already gone ends with. */
  static readonly CLIENT_ABORTED = ABORTED;
  readonly done: Promise<StageResult>;
  #resolve!: (result: StageResult) => void;
  #controller: Dispatcher.DispatchController | undefined;
  #stopped: StopReason | undefined;
  #deadline: NodeJS.Timeout | undefined;
  #started = false;
  #responded = false;
  /** A gRPC Trailers-Only answer (grpc-status in the headers): its head goes out with the end, in one frame. */
  #headOnly: { status: number; headers: Record<string, string | string[]> } | undefined;
  #settled = false;
  #waitingDrain = false;
  #bytesOut = 0;
  readonly #t0 = performance.now();
  readonly #ctx: RequestContext;
  readonly #exchange: Exchange;
  readonly #meter: Meter | undefined;
  readonly #maxBodyBytes: number;
  readonly #bufferedBytes: number;
  readonly #attempt: AttemptHooks | undefined;
  readonly #timeouts: UpstreamTimeouts | undefined;
  /** The armed deadline (if any) is the body timeout: the response head arrived. */
  #inBody = false;

  /**
   * `deadlineAt`: a gRPC call's deadline (performance.now() instant): past it the call is stopped.
   * `timeouts`: the upstream's headers and body timeouts, when undici does not keep them (HTTP/1.1 pools).
   */
  constructor(ctx: RequestContext, meter: Meter | undefined, maxBodyBytes: number, bufferedBytes: number, attempt?: AttemptHooks, deadlineAt?: number, timeouts?: UpstreamTimeouts) {
    super();
    this.done = new Promise((resolve) => (this.#resolve = resolve));
    this.#ctx = ctx;
    this.#exchange = ctx.exchange;
    this.#meter = meter;
    this.#maxBodyBytes = maxBodyBytes;
    this.#bufferedBytes = bufferedBytes;
    this.#attempt = attempt;
    this.#timeouts = timeouts;
    this.#exchange.onClose(this.#onClientClose);
    if (deadlineAt !== undefined) this.#deadline = setTimeout(this.#onDeadline, Math.max(0, deadlineAt - this.#t0));
  }

  /** Abort the upstream request for a reason of ours; the outcome arrives through onResponseError. */
  stop(reason: StopReason): void {
    if (this.#settled || this.#stopped) return;
    this.#stopped = reason;
    // Before undici has a socket there is no controller; erroring the body (if any) makes undici
    // abort as soon as it connects, and onRequestStart checks #stopped for bodiless requests.
    if (this.#controller) this.#controller.abort(new Stop(reason));
    else this.#meter?.destroy(new Stop(reason));
  }

  /** undici got a connected socket for this request (some of it may have been sent). */
  get started(): boolean {
    return this.#started;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    this.#started = true;
    if (this.#stopped) return controller.abort(new Stop(this.#stopped));
    if (this.#timeouts !== undefined) this.arm(this.#timeouts.headersMs);
    this.#attempt?.onStart();
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    const timeouts = this.#timeouts;
    if (status < 200) { // 1xx (e.g. 103 Early Hints) are not relayed; the wait for the head starts again
      if (timeouts !== undefined) this.arm(timeouts.headersMs);
      return;
    }
    if (timeouts !== undefined) {
      this.#inBody = true;
      this.arm(timeouts.bodyMs);
    }
    const ctx = this.#ctx;
    ctx.record.upstreamMs = performance.now() - this.#t0;
    ctx.record.upstreamStatus = status;
    if (this.#exchange.closed) return this.stop('client_aborted');
    const out = endToEnd(headers);
    // The gateway's own headers (request id, rate limits) win over the upstream's.
    const extra = ctx.responseHeaders;
    for (const name in extra) out[name] = extra[name]!;
    if (headers['grpc-status'] !== undefined) {
      this.#grpcStatus(headers['grpc-status']);
      this.#headOnly = { status, headers: out };
      return this.#responseStarted(status);
    }
    try {
      this.#exchange.writeHead(status, statusMessage || undefined, out);
    } catch (err) {
      // A header Node refuses to send: nothing went out, so the caller can still answer 502.
      controller.abort(err as Error);
      return;
    }
    this.#responseStarted(status);
  }

  #responseStarted(status: number): void {
    const ctx = this.#ctx;
    this.#responded = true;
    ctx.record.status = status;
    // The client gets the upstream's answer as is; the audit line and metrics say it was a failure.
    if (status >= 500) ctx.record.error = 'upstream_server_error';
    if (upstreamResponded.hasSubscribers) upstreamResponded.publish({ ctx, status });
  }

  /** The deferred head of a Trailers-Only answer: alone and ending the response, or before what follows. */
  #flushHead(alone: boolean): void {
    const head = this.#headOnly!;
    this.#headOnly = undefined;
    try {
      if (alone) this.#exchange.send(head.status, head.headers, '');
      else this.#exchange.writeHead(head.status, undefined, head.headers);
    } catch {
      // A header Node refuses to send: the client must not take a cut answer for a whole one.
      this.#exchange.destroy();
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.rearm();
    this.#bytesOut += chunk.length;
    if (this.#headOnly !== undefined) this.#flushHead(false);
    if (this.#exchange.write(chunk) || this.#waitingDrain) return;
    // The client reads slower than the upstream sends: stop reading the upstream until it drains.
    controller.pause();
    this.#waitingDrain = true;
    this.#exchange.onDrain(this.#onDrain);
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    // An upstream's trailers (gRPC's grpc-status) are relayed; most responses have none. undici 7
    // hands an HTTP/2 stream's trailers over as an object where it expects a raw list, and then
    // passes `{}` here: the object is still on the controller.
    const raw = (controller as { rawTrailers?: unknown }).rawTrailers;
    const all = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? raw as IncomingHttpHeaders : trailers;
    let any = false;
    for (const _ in all) { any = true; break; }
    if (any) this.#grpcStatus(all['grpc-status']);
    if (this.#headOnly !== undefined && !any) this.#flushHead(true);
    else {
      if (this.#headOnly !== undefined) this.#flushHead(false);
      this.#exchange.end(any ? endToEnd(all) : undefined);
    }
    this.#settle(undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    // Headers are out: cutting the connection makes the client see a truncated transfer rather
    // than a silently short body. A gRPC call past its deadline ends with that status instead.
    if (this.#responded && this.#stopped === 'grpc_deadline_exceeded') this.#exchange.end(grpcTrailers(DEADLINE.code, DEADLINE.detail, this.#ctx.record));
    else if (this.#responded) this.#exchange.destroy();
    if (this.#stopped === 'grpc_deadline_exceeded') this.#settle(DEADLINE);
    else if (this.#stopped === 'body_too_large') this.#settle({ code: 'body_too_large', detail: `request body exceeds ${this.#maxBodyBytes} bytes` });
    else if (this.#stopped === 'client_aborted') this.#settle(ABORTED);
    else this.#settle(classifyFailure(err, this.#started));
  }

  #onDrain = (): void => {
    this.#waitingDrain = false;
    this.rearm();
    this.#controller?.resume();
  };

  /** The clock stands still while the client is slow (body) or while a streamed upload still flows to the upstream (headers). */
  protected override held(): boolean {
    if (this.#inBody) return this.#waitingDrain;
    const meter = this.#meter;
    return meter !== undefined && !meter.readableEnded && !meter.isPaused();
  }

  /** What undici's own timer would have done: end the request with its timeout error (504, or a cut response). */
  protected override expired(): void {
    this.#controller?.abort(this.#inBody ? new errors.BodyTimeoutError() : new errors.HeadersTimeoutError());
  }

  #grpcStatus(value: string | string[] | undefined): void {
    const n = Number(value);
    if (typeof value === 'string' && Number.isInteger(n) && n >= 0) this.#ctx.record.grpcStatus = n;
  }

  #onDeadline = (): void => {
    this.#deadline = undefined;
    this.stop('grpc_deadline_exceeded');
  };

  #onClientClose = (): void => {
    if (!this.#settled) this.stop('client_aborted');
  };

  #settle(failure: Refusal | undefined): void {
    if (this.#settled) return;
    this.#settled = true;
    this.disarm();
    if (this.#deadline !== undefined) clearTimeout(this.#deadline);
    const exchange = this.#exchange;
    const record = this.#ctx.record;
    exchange.offClose(this.#onClientClose);
    if (this.#waitingDrain) exchange.offDrain(this.#onDrain);
    if (!this.#responded && !exchange.requestComplete && this.#attempt === undefined) exchange.discardBody();
    record.bytesIn = this.#meter?.bytes ?? this.#bufferedBytes;
    record.bytesOut = this.#bytesOut;
    record.upstreamMs ??= performance.now() - this.#t0;
    if (failure !== undefined && (this.#responded || failure.code === 'client_aborted')) {
      // Nothing to render: the client has the upstream's (cut) answer, or nobody is left (499).
      record.error = failure.code;
      if (failure.internal !== undefined) record.errorDetail = failure.internal;
      if (!this.#responded) record.status = ERRORS.client_aborted.status;
      return this.#resolve(undefined);
    }
    this.#resolve(failure);
  }
}

/**
 * The upstream's end-to-end response headers: a new object without the hop-by-hop ones (and those
 * its Connection header names). Copying keeps a fast-properties object for writeHead; deleting from
 * undici's object turned it into a dictionary on every response.
 */
function endToEnd(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const named = connectionTokens(headers.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    if (HOP.has(name) || named?.has(name)) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
