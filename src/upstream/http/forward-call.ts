import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { ERRORS } from '../../errors.js';
import { classifyFailure, type ForwardFailureCode } from './failure.js';
import type { BodyMeter } from './body-meter.js';
import { connectionTokens, HOP_BY_HOP } from '../../outbound/headers.js';

/** What happened to one forwarded request. */
export interface ForwardResult {
  /** Status the client got from the upstream, or the status the caller should answer with (see error). */
  readonly status: number;
  /** Request body bytes sent upstream. */
  readonly bytesIn: number;
  /** Response body bytes written to the client. */
  readonly bytesOut: number;
  /** Time until the upstream's response headers (or until the failure). */
  readonly upstreamMs: number;
  /** Set when no response could be sent, or the body was cut. `client_aborted`: nothing to render. */
  readonly error?: { code: ForwardFailureCode; detail: string };
  /** Whether response headers were already sent to the client. */
  readonly responded: boolean;
}

/** Response headers never relayed; the upstream's Connection header may name more. */
const HOP: ReadonlySet<string> = new Set(HOP_BY_HOP);

class Stop extends Error {}

/**
 * The undici dispatch handler for one request: writes the upstream response into the client
 * response as it arrives (pausing undici while the client is slow) and settles exactly once.
 */
export class ForwardCall implements Dispatcher.DispatchHandler {
  readonly done: Promise<ForwardResult>;
  #resolve!: (result: ForwardResult) => void;
  #controller: Dispatcher.DispatchController | undefined;
  #stopped: 'body_too_large' | 'client_aborted' | undefined;
  #started = false;
  #responded = false;
  #settled = false;
  #waitingDrain = false;
  #status = 0;
  #bytesOut = 0;
  #upstreamMs = -1;
  readonly #t0 = performance.now();
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #meter: BodyMeter | undefined;
  readonly #maxBodyBytes: number;

  readonly #bufferedBytes: number;
  readonly #extraHeaders: Readonly<Record<string, string>> | undefined;

  constructor(
    req: IncomingMessage, res: ServerResponse, meter: BodyMeter | undefined, maxBodyBytes: number, bufferedBytes = 0,
    extraHeaders?: Readonly<Record<string, string>>,
  ) {
    this.done = new Promise((resolve) => (this.#resolve = resolve));
    this.#bufferedBytes = bufferedBytes;
    this.#extraHeaders = extraHeaders;
    this.#req = req;
    this.#res = res;
    this.#meter = meter;
    this.#maxBodyBytes = maxBodyBytes;
    res.on('close', this.#onClientClose);
  }

  /** Abort the upstream request for a reason of ours; the outcome arrives through onResponseError. */
  stop(reason: 'body_too_large' | 'client_aborted'): void {
    if (this.#settled || this.#stopped) return;
    this.#stopped = reason;
    // Before undici has a socket there is no controller; erroring the body (if any) makes undici
    // abort as soon as it connects, and onRequestStart checks #stopped for bodiless requests.
    if (this.#controller) this.#controller.abort(new Stop(reason));
    else this.#meter?.destroy(new Stop(reason));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    this.#started = true;
    if (this.#stopped) controller.abort(new Stop(this.#stopped));
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (status < 200) return; // 1xx (e.g. 103 Early Hints) are not relayed
    this.#upstreamMs = performance.now() - this.#t0;
    const res = this.#res;
    if (res.destroyed) return this.stop('client_aborted');
    const out = endToEnd(headers);
    const extra = this.#extraHeaders;
    if (extra !== undefined) for (const name in extra) out[name] = extra[name]!;
    try {
      // One headers object to writeHead: Node's fast path (no setHeader per upstream header).
      // Anything set earlier with res.setHeader (a draining listener's `connection: close`)
      // still merges in, through Node's slower path.
      res.writeHead(status, statusMessage || undefined, out);
    } catch (err) {
      // A header Node refuses to send: nothing went out, so the caller can still answer 502.
      controller.abort(err as Error);
      return;
    }
    this.#responded = true;
    this.#status = status;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#bytesOut += chunk.length;
    if (this.#res.write(chunk) || this.#waitingDrain) return;
    // The client reads slower than the upstream sends: stop reading the upstream until it drains.
    controller.pause();
    this.#waitingDrain = true;
    this.#res.once('drain', this.#onDrain);
  }

  onResponseEnd(): void {
    this.#res.end();
    this.#settle(undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    if (this.#responded) {
      // Headers are out: cutting the connection makes the client see a truncated transfer
      // rather than a silently short body.
      this.#res.destroy();
    }
    if (this.#stopped === 'body_too_large') {
      this.#settle({ code: 'body_too_large', detail: `request body exceeds ${this.#maxBodyBytes} bytes` });
    } else if (this.#stopped === 'client_aborted') {
      this.#settle({ code: 'client_aborted', detail: 'client closed the connection' });
    } else {
      this.#settle(classifyFailure(err, this.#started));
    }
  }

  #onDrain = (): void => {
    this.#waitingDrain = false;
    this.#controller?.resume();
  };

  #onClientClose = (): void => {
    if (!this.#settled) this.stop('client_aborted');
  };

  #settle(error: { code: ForwardFailureCode; detail: string } | undefined): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#res.off('close', this.#onClientClose);
    if (this.#waitingDrain) this.#res.off('drain', this.#onDrain);
    if (!this.#responded && !this.#req.complete) closeAfterResponse(this.#req, this.#res);
    this.#resolve({
      status: this.#responded ? this.#status : failureStatus(error?.code),
      bytesIn: this.#meter?.bytes ?? this.#bufferedBytes,
      bytesOut: this.#bytesOut,
      upstreamMs: this.#upstreamMs >= 0 ? this.#upstreamMs : performance.now() - this.#t0,
      responded: this.#responded,
      ...(error ? { error } : {}),
    });
  }
}

/** The status for a failure before any response, from the error table (499 for a vanished client: audit only). */
export function failureStatus(code: ForwardFailureCode | undefined): number {
  return code === undefined ? 0 : ERRORS[code].status;
}

/**
 * The request body was not read to the end: ask Node to close the connection after the caller's
 * error response instead of parsing the unread body bytes as the next request. Only a header is
 * set; nothing is written.
 */
export function closeAfterResponse(req: IncomingMessage, res: ServerResponse): void {
  req.unpipe();
  if (!res.headersSent && !res.destroyed) res.setHeader('connection', 'close');
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
