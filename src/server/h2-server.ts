/**
 * The listener's HTTP/2 side: one node:http2 server that never listens itself. The public listener
 * hands it the connections that speak HTTP/2 (a TLS socket whose ALPN chose `h2`, or a cleartext
 * one that opened with the preface), so HTTP/1.1 keeps its own server on the same port. Here live
 * the per-connection limits node does not apply on its own: the idle timeout, the request timeout
 * of each stream and the budget of client stream resets (rapid reset, CVE-2023-44487).
 */
import http2, { constants, type Http2Server, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Server, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { resetByGateway } from './h2-exchange.js';
import { Deadline } from '../limits/deadline.js';

export interface H2Limits {
  readonly maxConcurrentStreams: number;
  readonly maxHeaderListSize: number;
  /** Client resets allowed per `resetWindowMs` on one connection. */
  readonly maxResets: number;
  readonly resetWindowMs: number;
  /** A connection with no open stream this long is closed (GOAWAY). */
  readonly idleMs: number;
  /** A stream whose request (head and body) is not complete by then is answered 408 and reset. */
  readonly requestMs: number;
}

export type H2Handler = (req: Http2ServerRequest, res: Http2ServerResponse) => void;

/** Live HTTP/2 connections of one listener, and how to drain them. */
export class H2Sessions {
  readonly server: Http2Server;
  readonly #sessions = new Set<ServerHttp2Session>();
  #streams = 0;
  #closing = false;

  constructor(private readonly limits: H2Limits, handler: H2Handler) {
    this.server = http2.createServer({
      settings: { maxConcurrentStreams: limits.maxConcurrentStreams, maxHeaderListSize: limits.maxHeaderListSize },
      // Node's own budget for streams refused over maxConcurrentStreams before it drops the connection.
      maxSessionRejectedStreams: 100,
    }, (req, res) => this.#request(req, res, handler));
    this.server.on('session', (session) => this.#track(session));
  }

  /** Streams open on every connection (requests in flight). */
  get streams(): number { return this.#streams; }
  get size(): number { return this.#sessions.size; }

  /** Serve `socket` (already past TLS, or with the preface still unread) as HTTP/2. */
  accept(socket: Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    this.server.emit('connection', socket);
  }

  /** Draining: GOAWAY on every connection; open streams finish, no new ones start. */
  goAway(): void {
    this.#closing = true;
    for (const session of this.#sessions) if (!session.closed) session.close();
  }

  /** Cut every connection still open (after the grace period). */
  destroyAll(): void {
    for (const session of this.#sessions) session.destroy();
  }

  #track(session: ServerHttp2Session): void {
    this.#sessions.add(session);
    let open = 0;
    let idle: NodeJS.Timeout | undefined;
    const arm = (): void => {
      idle = setTimeout(() => { if (!session.closed) session.close(); }, this.limits.idleMs);
      idle.unref();
    };
    let resets = 0;
    let windowStart = Date.now();
    session.on('stream', (stream: ServerHttp2Stream) => {
      open++;
      if (idle !== undefined) clearTimeout(idle);
      idle = undefined;
      stream.once('close', () => {
        open--;
        if (open === 0 && !session.closed && !session.destroyed) arm();
        if (stream.rstCode === constants.NGHTTP2_NO_ERROR || resetByGateway.has(stream)) return;
        const now = Date.now();
        if (now - windowStart > this.limits.resetWindowMs) {
          windowStart = now;
          resets = 0;
        }
        if (++resets > this.limits.maxResets && !session.destroyed) {
          session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
          session.destroy();
        }
      });
    });
    session.on('error', () => session.destroy());
    session.once('close', () => {
      if (idle !== undefined) clearTimeout(idle);
      this.#sessions.delete(session);
    });
    // A draining listener's late connection still gets a GOAWAY rather than service.
    if (this.#closing) session.close();
    else arm();
  }

  /** A request node emitted: refused when its head is too large, else timed and handed on. */
  #request(req: Http2ServerRequest, res: Http2ServerResponse, handler: H2Handler): void {
    const stream = req.stream;
    // A stream the client reset before node emitted it (rapid reset) has no session any more: nothing to serve.
    if (stream.destroyed || stream.session === undefined) return;
    stream.on('error', () => { /* the stream is destroyed; the request sees it closed */ });
    // Node applies SETTINGS_MAX_HEADER_LIST_SIZE only once the client acknowledged it: the first
    // requests of a connection are measured here (RFC 9113 §6.5.2: name + value + 32 per field).
    if (headerListSize(req.rawHeaders) > this.limits.maxHeaderListSize) return refuse(stream, 431);
    this.#streams++;
    const timer = new RequestTimer(stream, this.limits.requestMs);
    stream.once('close', () => {
      this.#streams--;
      timer.closed();
    });
    handler(req, res);
  }
}

/** A stream's request timeout, on the process's deadline sweep (no timer object per stream). */
class RequestTimer extends Deadline {
  constructor(private readonly stream: ServerHttp2Stream, ms: number) {
    super();
    this.arm(ms);
  }

  closed(): void {
    this.disarm();
  }

  protected override expired(): void {
    // state.remoteClose: the client sent END_STREAM (the whole request arrived).
    if (this.stream.destroyed || this.stream.state.remoteClose === 1) return;
    refuse(this.stream, 408);
  }
}

function headerListSize(raw: readonly string[]): number {
  let size = 0;
  for (let i = 0; i < raw.length; i += 2) size += raw[i]!.length + raw[i + 1]!.length + 32;
  return size;
}

/** Answer `status` without a body if nothing went out yet, and stop the client's body (RST_STREAM NO_ERROR). */
function refuse(stream: ServerHttp2Stream, status: number): void {
  resetByGateway.add(stream);
  if (!stream.headersSent) stream.respond({ ':status': status, 'content-length': '0' }, { endStream: true });
  stream.close(constants.NGHTTP2_NO_ERROR);
}

/** The HTTP/2 connection preface (RFC 9113 §3.4) that a prior-knowledge client sends first. */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/**
 * Read the first bytes of a cleartext connection: `h2` when they are the HTTP/2 preface, `http1`
 * otherwise (as soon as they differ from it). The bytes are put back for whichever server takes the
 * socket. A client that sends nothing within `timeoutMs` is cut off.
 */
export function sniffPreface(socket: Socket, timeoutMs: number, then: (kind: 'h2' | 'http1') => void): void {
  let seen: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  timer.unref();
  const done = (kind: 'h2' | 'http1'): void => {
    clearTimeout(timer);
    socket.off('readable', onReadable);
    socket.off('close', onClose);
    if (seen.length > 0) socket.unshift(seen);
    then(kind);
  };
  const onClose = (): void => clearTimeout(timer);
  const onReadable = (): void => {
    let chunk: Buffer | null;
    while ((chunk = socket.read() as Buffer | null) !== null) {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, PREFACE.length);
      if (seen.compare(PREFACE, 0, n, 0, n) !== 0) return done('http1');
      if (seen.length >= PREFACE.length) return done('h2');
    }
  };
  socket.on('readable', onReadable);
  socket.once('close', onClose);
  socket.on('error', () => socket.destroy());
}

type SocketListener = (socket: Socket) => void;

/**
 * Send the HTTP/2 connections of `server` to `sessions` and every other one to the server's own
 * HTTP/1.1 handling: by ALPN on a TLS server (`secureConnection`), by the preface on a cleartext one.
 */
export function divertHttp2(server: Server, sessions: H2Sessions, tls: boolean, prefaceTimeoutMs: number): void {
  const event = tls ? 'secureConnection' : 'connection';
  const http1 = server.listeners(event) as SocketListener[];
  server.removeAllListeners(event);
  const toHttp1 = (socket: Socket): void => { for (const listener of http1) listener.call(server, socket); };
  server.on(event, tls
    ? (socket: TLSSocket) => { if (socket.alpnProtocol === 'h2') sessions.accept(socket); else toHttp1(socket); }
    : (socket: Socket) => sniffPreface(socket, prefaceTimeoutMs, (kind) => { if (kind === 'h2') sessions.accept(socket); else toHttp1(socket); }));
}
