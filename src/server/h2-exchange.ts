/**
 * The node:http2 engine's Exchange (compat API: Http2ServerRequest / Http2ServerResponse), the
 * sibling of NodeExchange. What differs from HTTP/1.1: pseudo-headers are not headers (`:authority`
 * becomes `host` when the client sent none), there is no status message and no connection-specific
 * header, and an unread body is stopped by resetting the stream with NO_ERROR after the response
 * (RFC 9113 §8.1) instead of closing the connection.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { constants, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { ClientTls, Exchange } from '../pipeline/exchange.js';
import { clientTls, readBounded, sendWhole } from './node-exchange.js';

/** Streams the gateway itself reset (not counted against the client's reset budget). */
export const resetByGateway = new WeakSet<ServerHttp2Stream>();

/** The request's headers without pseudo-headers, `host` from `:authority` when absent. */
function plainHeaders(req: Http2ServerRequest): { headers: IncomingHttpHeaders; raw: string[] } {
  const headers: IncomingHttpHeaders = {};
  const source = req.headers;
  for (const name in source) if (name.charCodeAt(0) !== 0x3a) headers[name] = source[name];
  const rawIn = req.rawHeaders;
  const raw: string[] = [];
  for (let i = 0; i < rawIn.length; i += 2) if (rawIn[i]!.charCodeAt(0) !== 0x3a) raw.push(rawIn[i]!, rawIn[i + 1]!);
  const authority = source[':authority'];
  if (headers.host === undefined && typeof authority === 'string') {
    headers.host = authority;
    raw.push('host', authority);
  }
  return { headers, raw };
}

export class H2Exchange implements Exchange {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  readonly remoteAddress: string;
  readonly encrypted: boolean;
  readonly tls: ClientTls | undefined;
  readonly authority: string | undefined;
  readonly stream: ServerHttp2Stream;
  readonly bodyFollows: boolean;

  constructor(readonly req: Http2ServerRequest, readonly res: Http2ServerResponse) {
    this.stream = req.stream;
    this.bodyFollows = !req.stream.endAfterHeaders;
    // req.socket is a proxy; the session's socket is the real one (a TLSSocket on an h2 listener).
    const socket = req.stream.session!.socket as TLSSocket;
    this.method = req.method;
    // A CONNECT has no :path; routing refuses the empty target.
    this.url = (req.url as string | undefined) ?? '';
    const { headers, raw } = plainHeaders(req);
    this.headers = headers;
    this.rawHeaders = raw;
    const authority = req.headers[':authority'];
    this.authority = typeof authority === 'string' ? authority : undefined;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.encrypted = socket.encrypted === true;
    this.tls = clientTls(socket);
  }

  get body(): Readable { return this.req; }
  // The client ended the stream (state.remoteClose), whether or not the body was read.
  get requestComplete(): boolean { return !this.bodyFollows || this.req.readableEnded || this.stream.state.remoteClose === 1; }
  get headersSent(): boolean { return this.res.headersSent; }
  get closed(): boolean { return this.stream.destroyed; }

  readBody(limit: number): Promise<Buffer> { return readBounded(this.req, this.headers, limit); }

  discardBody(): void {
    this.req.unpipe();
    // The h2 way to say "stop sending": a complete response, then RST_STREAM(NO_ERROR).
    const stop = (): void => { if (!this.stream.closed) this.stream.close(constants.NGHTTP2_NO_ERROR); };
    if (this.stream.writableFinished) stop();
    else this.stream.once('finish', stop);
  }

  send(status: number, headers: OutgoingHttpHeaders, body: string): number {
    if (body !== '' && this.method !== 'HEAD') return sendWhole(this.res, this.method, status, headers, body);
    // No body: one HEADERS frame that ends the stream (gRPC's Trailers-Only needs exactly that), not
    // HEADERS and an empty DATA frame; headers set before writing are sent with END_STREAM.
    for (const name in headers) this.res.setHeader(name, headers[name]!);
    this.res.statusCode = status;
    this.res.end();
    return 0;
  }

  // HTTP/2 has no reason phrase: the status message is not sent.
  writeHead(status: number, _statusMessage: string | undefined, headers: OutgoingHttpHeaders): void {
    this.res.writeHead(status, headers);
  }

  write(chunk: Uint8Array): boolean { return this.res.write(chunk); }
  end(trailers?: OutgoingHttpHeaders): void {
    if (trailers !== undefined) this.res.addTrailers(trailers);
    this.res.end();
  }
  destroy(): void {
    resetByGateway.add(this.stream);
    this.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  }
  onDrain(fn: () => void): void { this.res.once('drain', fn); }
  offDrain(fn: () => void): void { this.res.off('drain', fn); }
  onClose(fn: () => void): void { this.res.once('close', fn); }
  offClose(fn: () => void): void { this.res.off('close', fn); }
}
