import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Static } from '@sinclair/typebox';
import type { Dispatcher, Pool } from 'undici';
import { UpstreamPools } from './pools.js';
import type { UpstreamSchema } from '../../outbound/schema.js';
import { BodyMeter } from './body-meter.js';
import { ForwardCall, closeAfterResponse, failureStatus, type ForwardResult } from './forward-call.js';
import { compileTarget, upstreamPath } from './target.js';

export type { ForwardResult } from './forward-call.js';
export type { ForwardFailureCode } from './failure.js';
export type { UpstreamTarget } from './target.js';

/** One upstream origin behind a keep-alive connection pool. */
export interface HttpUpstream {
  /**
   * Stream `req` to the upstream and the answer back into `res`. `path` is the normalized path,
   * `query` the raw query without `?`, `headers` from buildUpstreamHeaders. Never rejects. When the
   * result has `responded: false`, nothing was written to `res` and the caller renders the error.
   */
  /**
   * Stream `req`'s body to the upstream, or send `buffered` when an authenticator already read it
   * (SigV4). `responseHeaders` (the gateway's own: request id, rate-limit headers) are added to the
   * upstream's response headers and win over them.
   */
  forward(
    req: IncomingMessage, res: ServerResponse, path: string, query: string, headers: Record<string, string | string[]>, maxBodyBytes: number,
    buffered?: Buffer, responseHeaders?: Readonly<Record<string, string>>,
  ): Promise<ForwardResult>;
  /** Stop taking requests and close the pool once in-flight requests finish. */
  close(): Promise<void>;
}

/** Build the pool and per-request constants for one upstream, at config load. */
export function createHttpUpstream(cfg: Static<typeof UpstreamSchema>, pools?: UpstreamPools): HttpUpstream {
  const target = compileTarget(cfg);
  const tls = target.url.protocol === 'https:';
  const servername = tls ? cfg.serverName ?? nameForSni(target.url.hostname) : undefined;
  // With a shared registry, routes to the same upstream share one pool and the registry closes it.
  const own = pools === undefined;
  const pool = (pools ?? new UpstreamPools()).get({
    origin: target.url.origin, connections: cfg.connections, headersTimeoutMs: target.headersTimeoutMs, bodyTimeoutMs: target.bodyTimeoutMs,
    connectTimeoutMs: target.connectTimeoutMs, ...(cfg.ca !== undefined ? { ca: cfg.ca } : {}), ...(servername !== undefined ? { servername } : {}),
  });

  return {
    forward(req, res, path, query, headers, maxBodyBytes, buffered, responseHeaders) {
      // A body fully read by an authenticator (SigV4) leaves req destroyed but complete: not an abort.
      if ((req.destroyed && !req.complete) || res.destroyed) return Promise.resolve(immediate('client_aborted', 'client closed the connection'));
      if (buffered !== undefined) return forwardBuffered(pool, target, servername, req, res, path, query, headers, buffered, responseHeaders);
      const declared = req.headers['content-length'];
      if (declared !== undefined && Number(declared) > maxBodyBytes) {
        closeAfterResponse(req, res);
        return Promise.resolve(immediate('body_too_large', `request body exceeds ${maxBodyBytes} bytes`));
      }
      const hasBody = declared === undefined ? req.headers['transfer-encoding'] !== undefined : declared !== '0';
      // The meter only calls back once piped, after `call` exists.
      const meter = hasBody ? new BodyMeter(maxBodyBytes, () => call.stop('body_too_large')) : undefined;
      const call = new ForwardCall(req, res, meter, maxBodyBytes, 0, responseHeaders);
      const opts: Dispatcher.DispatchOptions & { servername?: string } = {
        path: upstreamPath(target, path, query),
        method: req.method as Dispatcher.HttpMethod,
        headers,
        body: meter ?? null,
        // Without this undici would derive SNI (and the certificate check) from the Host header.
        ...(servername !== undefined ? { servername } : {}),
      };
      // pipe (not pipeline): if undici destroys the meter, req is only unpiped, so the client
      // connection survives for the caller's error response.
      if (meter) req.pipe(meter);
      pool.dispatch(opts, call);
      return call.done;
    },
    close: () => (own ? pool.close() : Promise.resolve()),
  };
}

/** Forward a body that was already read (and bounded) by the authentication stage. */
function forwardBuffered(
  pool: Pool, target: ReturnType<typeof compileTarget>, servername: string | undefined, req: IncomingMessage, res: ServerResponse,
  path: string, query: string, headers: Record<string, string | string[]>, body: Buffer, responseHeaders: Readonly<Record<string, string>> | undefined,
): Promise<ForwardResult> {
  const call = new ForwardCall(req, res, undefined, body.length, body.length, responseHeaders);
  delete headers['transfer-encoding'];
  headers['content-length'] = String(body.length);
  const opts: Dispatcher.DispatchOptions & { servername?: string } = {
    path: upstreamPath(target, path, query),
    method: req.method as Dispatcher.HttpMethod,
    headers,
    body: body.length > 0 || req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH' ? body : null,
    ...(servername !== undefined ? { servername } : {}),
  };
  pool.dispatch(opts, call);
  return call.done;
}

/** A result decided before contacting the upstream. */
function immediate(code: 'client_aborted' | 'body_too_large', detail: string): ForwardResult {
  return { status: failureStatus(code), bytesIn: 0, bytesOut: 0, upstreamMs: 0, responded: false, error: { code, detail } };
}

/** SNI must be a DNS name: IP literals (and bracketed IPv6) get none, as Node does by default. */
function nameForSni(hostname: string): string | undefined {
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return isIP(bare) === 0 ? bare : undefined;
}
