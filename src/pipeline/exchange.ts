/**
 * The client's side of one request as the listener presents it: the seam between the HTTP engine
 * (node:http today, server/node-exchange.ts) and the stages. Nothing past the listener touches an
 * engine object; a second engine implements this interface and reuses every stage.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { PeerCertificate } from 'node:tls';
import type { WebSocket } from 'ws';

/** The client certificate as the listener saw it (only on TLS listeners that request one). */
export interface ClientTls {
  /** The chain verified against the listener's client CA bundle. */
  readonly authorized: boolean;
  readonly authorizationError?: string;
  /** Empty object when the client sent no certificate. */
  readonly peerCertificate: PeerCertificate;
}

/** How the client's side of a WebSocket handshake is completed (a request with `Upgrade: websocket`). */
export interface WebSocketUpgrade {
  /**
   * Answer 101 with `headers` and the subprotocol the upstream chose, and hand over the client's
   * WebSocket; undefined when the client went away or its handshake is not a valid one.
   */
  accept(options: { readonly maxPayload: number; readonly protocol: string | undefined; readonly headers: Readonly<Record<string, string | readonly string[]>> }): Promise<WebSocket | undefined>;
  /** Run `goAway` when the listener's drain grace period ends while this WebSocket is open; returns the unregister. */
  onShutdown(goAway: () => void): () => void;
}

export interface Exchange {
  readonly method: string;
  /** The request target exactly as received. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** Header lines as received, name/value alternating. */
  readonly rawHeaders: readonly string[];
  readonly remoteAddress: string;
  /** The connection is TLS. */
  readonly encrypted: boolean;
  /** Present on TLS connections. */
  readonly tls: ClientTls | undefined;
  /**
   * HTTP/2 only: the `:authority` pseudo-header as received (`headers.host` carries it when the client
   * sent no `Host`; routing refuses a `Host` that names another authority).
   */
  readonly authority?: string | undefined;
  /** Present when the client asked for a WebSocket (the listener held the handshake open). */
  readonly upgrade?: WebSocketUpgrade | undefined;

  /** The request body as a stream (streamed upstream with back-pressure). */
  readonly body: Readable;
  /** The whole request, body included, has been received. */
  readonly requestComplete: boolean;
  /**
   * HTTP/2 only: whether a body follows the head (the client did not end the stream with its
   * HEADERS), which `content-length` need not say; on HTTP/1.1 the framing headers say it.
   */
  readonly bodyFollows?: boolean | undefined;
  /** Read the whole body once, bounded by `limit` (past it: GatehouseError body_too_large). */
  readBody(limit: number): Promise<Buffer>;
  /** The body will not be read to its end: close the connection after the response instead of parsing the rest. */
  discardBody(): void;

  /** Response headers are out (a refusal can no longer be rendered). */
  readonly headersSent: boolean;
  /** The client is gone, or the response was destroyed. */
  readonly closed: boolean;
  /**
   * A complete response (problem bodies, JWKS); a HEAD request gets the headers only. Returns the body
   * bytes sent. Without a body, HTTP/2 sends one HEADERS frame that ends the stream.
   */
  send(status: number, headers: OutgoingHttpHeaders, body: string): number;
  /** Start a streamed response; throws when a header cannot be sent (nothing went out then). */
  writeHead(status: number, statusMessage: string | undefined, headers: OutgoingHttpHeaders): void;
  /** false: the client is slower than us; wait for `onDrain`. */
  write(chunk: Uint8Array): boolean;
  /** Finish the response, with `trailers` after the body (gRPC's status; HTTP/1.1 sends them on a chunked response only). */
  end(trailers?: OutgoingHttpHeaders): void;
  /** Cut the connection (a truncated response must not look complete). */
  destroy(): void;
  onDrain(fn: () => void): void;
  offDrain(fn: () => void): void;
  /** Called once when the response finished or the client went away. */
  onClose(fn: () => void): void;
  offClose(fn: () => void): void;
}
