import { buildConnector, Pool } from './undici.js';
import { tlsDigest, type UpstreamTlsMaterial } from './tls.js';
import { TLS_CLOSED_UNANSWERED } from './failure.js';

/** What makes two routes' connections interchangeable: origin, TLS trust and identity, SNI, timeouts, size. */
export interface PoolSettings {
  readonly origin: string;
  readonly connections: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** Pinned CA, client certificate and key, lowest version (an `https://` origin only). */
  readonly tls?: UpstreamTlsMaterial;
  readonly servername?: string;
  /** HTTP/2: offered by ALPN to an `https://` origin (HTTP/1.1 if it declines), with prior knowledge (h2c) to an `http://` one. */
  readonly http2?: boolean;
}

/**
 * Under TLS 1.3 the upstream judges the client certificate after the client's side of the handshake
 * is done: its alert (e.g. "certificate required") arrives while undici waits for a response, and
 * undici then reports the close that follows ("other side closed"). Ending the socket with the TLS
 * error itself keeps the reason (the audit line's detail) and classifies it as a failed handshake.
 * An upstream that refuses a certificate without an alert (Node's `rejectUnauthorized`) just closes
 * the new connection before sending a byte: that is named too.
 */
function keepTlsErrors(connect: buildConnector.connector): buildConnector.connector {
  return (opts, callback) => connect(opts, (err, socket) => {
    if (socket && 'encrypted' in socket) {
      socket.prependListener('error', (e: Error & { code?: unknown }) => {
        if (typeof e.code === 'string' && e.code.startsWith('ERR_SSL_') && !socket.destroyed) socket.destroy(e);
      });
      socket.prependOnceListener('end', () => {
        if (socket.bytesRead > 0 || socket.destroyed) return;
        socket.destroy(Object.assign(new Error('the upstream closed the TLS connection before answering'), { code: TLS_CLOSED_UNANSWERED }));
      });
    }
    // undici's callback takes (null, socket) or (error, null).
    (callback as (e: Error | null, s: typeof socket) => void)(err, socket);
  });
}

/**
 * An HTTP/1.1 pool's `headersTimeout` and `bodyTimeout` (ms; 0 = none), kept by the call itself
 * (ForwardCall) rather than by undici, whose timer objects per request ended in the old generation.
 * The semantics are undici's: headers from when the request is on a connection until the response
 * head (a 1xx starts it again; the clock stands still while a streamed upload still flows, so it
 * counts from the upload's end or from the upstream no longer reading it); body from the head and
 * again after every chunk (standing still while the client is slow and the upstream is paused).
 */
export interface UpstreamTimeouts {
  readonly headersMs: number;
  readonly bodyMs: number;
}

/**
 * The headers and body timeouts the call keeps itself (ForwardCall, one sweep per process): those
 * of an HTTP/1.1 pool, where undici would allocate up to three timer objects per request. undici
 * keeps an HTTP/2 pool's (per-stream socket timers), and its pool is built with them.
 */
export function callTimeouts(s: Pick<PoolSettings, 'headersTimeoutMs' | 'bodyTimeoutMs' | 'http2'>): UpstreamTimeouts | undefined {
  return s.http2 === true ? undefined : { headersMs: s.headersTimeoutMs, bodyMs: s.bodyTimeoutMs };
}

/**
 * Keep-alive pools shared by every route with the same upstream settings, so 10,000 routes to one
 * backend hold one pool (and one `connections` budget), not 10,000. The key holds a digest of the
 * TLS material, not the material: a changed certificate is a new pool, and no key text is kept twice.
 */
export class UpstreamPools {
  readonly #pools = new Map<string, Pool>();

  /** The pool for these settings, created on first use. */
  get(s: PoolSettings): Pool {
    const key = JSON.stringify([s.origin, s.connections, s.headersTimeoutMs, s.bodyTimeoutMs, s.connectTimeoutMs, tlsDigest(s.tls), s.servername ?? null, s.http2 === true]);
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      const t = s.tls;
      const h2 = s.http2 === true;
      pool = new Pool(s.origin, {
        ...(h2 ? { allowH2: true } : {}),
        connections: s.connections,
        // 0: none in undici; the call keeps them (callTimeouts).
        headersTimeout: h2 ? s.headersTimeoutMs : 0,
        bodyTimeout: h2 ? s.bodyTimeoutMs : 0,
        connect: keepTlsErrors(buildConnector({
          timeout: s.connectTimeoutMs,
          ...(h2 ? { allowH2: true, useH2c: s.origin.startsWith('http:') } : {}),
          ...(t?.ca !== undefined ? { ca: t.ca } : {}),
          ...(t?.cert !== undefined && t.key !== undefined ? { cert: t.cert, key: t.key } : {}),
          ...(t?.passphrase !== undefined ? { passphrase: t.passphrase } : {}),
          ...(t?.minVersion !== undefined ? { minVersion: t.minVersion } : {}),
          ...(s.servername !== undefined ? { servername: s.servername } : {}),
        })),
      });
      this.#pools.set(key, pool);
    }
    return pool;
  }

  get size(): number {
    return this.#pools.size;
  }

  /** Close every pool once its in-flight requests finish. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#pools.values()].map((p) => p.close()));
    this.#pools.clear();
  }
}
