/** The node:http engine's Exchange: the only place past the listener that touches req and res. */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { GatehouseError } from '../errors.js';
import type { ClientTls, Exchange } from '../pipeline/exchange.js';

// The client certificate cannot change on a connection: read it once per socket, not per request.
const tlsBySocket = new WeakMap<TLSSocket, ClientTls>();
const NO_CERTIFICATE = Object.freeze({}) as PeerCertificate;

/** The client certificate facts of a TLS socket (read once per socket), undefined on cleartext. */
export function clientTls(socket: TLSSocket): ClientTls | undefined {
  if (socket.encrypted !== true) return undefined;
  let tls = tlsBySocket.get(socket);
  if (tls === undefined) {
    // Bun's node:https socket has no getPeerCertificate: nothing to read there (and startListener
    // refuses client-certificate listeners on Bun, so no certificate is ever taken for absent).
    const peerCertificate = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate(true) : NO_CERTIFICATE;
    tls = { authorized: socket.authorized, ...(socket.authorizationError ? { authorizationError: String(socket.authorizationError) } : {}), peerCertificate };
    tlsBySocket.set(socket, tls);
  }
  return tls;
}

/** Read a request body once, bounded by `limit` (past it: GatehouseError body_too_large); shared by the HTTP/1.1 and HTTP/2 exchanges. */
export function readBounded(req: Readable, headers: IncomingHttpHeaders, limit: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const declared = headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) return reject(new GatehouseError('body_too_large', `request body exceeds ${limit} bytes`));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        reject(new GatehouseError('body_too_large', `request body exceeds ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks, size)));
    req.once('error', reject);
  });
}

/** A response that writes its head in one call and can end with a body (node:http's and node:http2's compat one). */
interface WholeResponse {
  writeHead(status: number, headers: OutgoingHttpHeaders): { end(): unknown; end(body: string): unknown };
}

/** Write a whole response (the head alone for HEAD); the body bytes sent. Shared by the HTTP/1.1 and HTTP/2 exchanges. */
export function sendWhole(res: WholeResponse, method: string, status: number, headers: OutgoingHttpHeaders, body: string): number {
  if (method === 'HEAD') {
    res.writeHead(status, headers).end();
    return 0;
  }
  res.writeHead(status, headers).end(body);
  return typeof headers['content-length'] === 'number' ? headers['content-length'] : Buffer.byteLength(body);
}

export class NodeExchange implements Exchange {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  readonly remoteAddress: string;
  readonly encrypted: boolean;
  readonly tls: ClientTls | undefined;

  constructor(readonly req: IncomingMessage, readonly res: ServerResponse) {
    const socket = req.socket as TLSSocket;
    this.method = req.method ?? 'GET';
    this.url = req.url ?? '/';
    this.headers = req.headers;
    this.rawHeaders = req.rawHeaders;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.encrypted = socket.encrypted === true;
    this.tls = clientTls(socket);
  }

  get body(): Readable { return this.req; }
  get requestComplete(): boolean { return this.req.complete; }
  get headersSent(): boolean { return this.res.headersSent; }
  // A body fully read by a stage leaves req destroyed but complete: not a client that went away.
  get closed(): boolean { return this.res.destroyed || (this.req.destroyed && !this.req.complete); }

  readBody(limit: number): Promise<Buffer> { return readBounded(this.req, this.headers, limit); }

  discardBody(): void {
    // Ask Node to close the connection after the response instead of parsing the unread body
    // bytes as the next request. Only a header is set; nothing is written.
    this.req.unpipe();
    if (!this.res.headersSent && !this.res.destroyed) this.res.setHeader('connection', 'close');
  }

  send(status: number, headers: OutgoingHttpHeaders, body: string): number { return sendWhole(this.res, this.method, status, headers, body); }

  writeHead(status: number, statusMessage: string | undefined, headers: OutgoingHttpHeaders): void {
    // One headers object to writeHead: Node's fast path (no setHeader per header). Anything set
    // earlier with setHeader (a draining listener's `connection: close`) still merges in.
    this.res.writeHead(status, statusMessage, headers);
  }

  write(chunk: Uint8Array): boolean { return this.res.write(chunk); }
  end(trailers?: OutgoingHttpHeaders): void {
    if (trailers !== undefined) this.res.addTrailers(trailers);
    this.res.end();
  }
  destroy(): void { this.res.destroy(); }
  onDrain(fn: () => void): void { this.res.once('drain', fn); }
  offDrain(fn: () => void): void { this.res.off('drain', fn); }
  onClose(fn: () => void): void { this.res.once('close', fn); }
  offClose(fn: () => void): void { this.res.off('close', fn); }
}
