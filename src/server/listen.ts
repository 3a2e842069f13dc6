import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import https from 'node:https';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Config } from '../config/schema.js';
import type { Exchange } from '../pipeline/exchange.js';
import { NodeExchange } from './node-exchange.js';
import { H2Exchange } from './h2-exchange.js';
import { divertHttp2, H2Sessions, type H2Handler, type H2Limits } from './h2-server.js';
import { UpgradeTracker } from './node-upgrade.js';
import { parseDuration, parseSize } from '../config/units.js';

/** How long drain waits for WebSockets to finish their closing handshake after 1001 before cutting them. */
const WEBSOCKET_CLOSE_WAIT_MS = 2000;

type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** A listener that can drain: stop accepting, let in-flight requests finish, then close the rest. */
export interface Listener {
  readonly server: Server;
  readonly port: number;
  /** Requests in flight, upgrade requests and open WebSockets included. */
  inFlight(): number;
  /**
   * Stop accepting; resolve when in-flight requests are done or `graceMs` passed. WebSockets still
   * open then are closed with 1001 (going away), and waited for a little longer.
   */
  drain(graceMs: number): Promise<{ forced: number }>;
  /**
   * Serve new TLS connections with `tls`'s certificate, key and client CAs (`setSecureContext`);
   * open connections keep theirs until they close. True when that changed anything. Throws, changing
   * nothing, when they do not make a TLS context (a key that does not match its certificate). What
   * cannot change here (HTTP ↔ HTTPS, the client-certificate mode) is left as started: see
   * restart-settings.ts.
   */
  updateTls(tls: TlsConfig | undefined): boolean;
}

export type TlsConfig = NonNullable<NonNullable<Config['listen']>['tls']>;
export type ClientAuthMode = 'none' | 'optional' | 'required';

/** The client-certificate mode `tls` asks for (`optional` when only `clientCa` is set). */
export function clientAuthMode(tls: TlsConfig | undefined): ClientAuthMode {
  if (tls === undefined) return 'none';
  return tls.clientAuth ?? (tls.clientCa !== undefined ? 'optional' : 'none');
}

/**
 * What a secure context can change on a listener started with `started`: certificate, key and
 * client CAs. The client-certificate mode (requestCert, rejectUnauthorized) is fixed when the server
 * is made, so it stays `started`'s, and so do its CAs when `next` names none.
 */
export function tlsMaterial(started: TlsConfig, next: TlsConfig): SecureContextOptions {
  const ca = clientAuthMode(started) === 'none' ? undefined : next.clientCa ?? started.clientCa;
  return { cert: next.cert, key: next.key, ...(ca !== undefined ? { ca } : {}) };
}

/** Whether two secure-context materials are the same certificate, key and CAs. */
export function sameTlsMaterial(a: SecureContextOptions, b: SecureContextOptions): boolean {
  return a.cert === b.cert && a.key === b.key && a.ca === b.ca;
}

/** Server TLS options: the certificate, and client-certificate verification when `clientAuth` asks for it. */
export function tlsServerOptions(tls: TlsConfig): https.ServerOptions {
  const mode = clientAuthMode(tls);
  if (mode === 'none') return { cert: tls.cert, key: tls.key };
  if (tls.clientCa === undefined) throw new Error(`listen.tls.clientAuth: ${mode} needs listen.tls.clientCa (the CAs that issue client certificates)`);
  // Fail closed rather than serve mTLS routes that could never see a certificate.
  if (process.versions.bun !== undefined) throw new Error(`listen.tls.clientAuth: ${mode} is not available on Bun (its node:https does not expose the client certificate); run Gatehouse on Node for client certificates`);
  // optional: the handshake accepts any client and records the verdict (socket.authorized) for the mtls authenticator.
  return { cert: tls.cert, key: tls.key, ca: tls.clientCa, requestCert: true, rejectUnauthorized: mode === 'required' };
}

/** The HTTP/2 limits of `listen`: its own, and the listener's header, time and idle limits. */
function http2Limits(listen: NonNullable<Config['listen']>): H2Limits {
  return {
    maxConcurrentStreams: listen.http2.maxConcurrentStreams,
    maxHeaderListSize: parseSize(listen.maxHeaderSize),
    maxResets: listen.http2.maxResets,
    resetWindowMs: parseDuration(listen.http2.resetWindow),
    idleMs: parseDuration(listen.idleTimeout),
    requestMs: parseDuration(listen.requestTimeout),
  };
}

/** Bind the public listener with the configured head/body/time limits (HTTP, or HTTPS when `tls` is set). */
export async function startListener(listen: NonNullable<Config['listen']>, handler: (exchange: Exchange) => void): Promise<Listener> {
  const options = {
    maxHeaderSize: parseSize(listen.maxHeaderSize),
    headersTimeout: parseDuration(listen.headersTimeout),
    requestTimeout: parseDuration(listen.requestTimeout),
    keepAliveTimeout: parseDuration(listen.idleTimeout),
    // How often node checks for slow clients against headersTimeout/requestTimeout.
    connectionsCheckingInterval: 1000,
  };
  let active = 0;
  let draining = false;
  // One shared listener (no closure per request): a response closes exactly once.
  const done = (): void => { active--; };
  const counted: NodeHandler = (req, res) => {
    active++;
    res.on('close', done);
    // While draining, ask keep-alive clients to go elsewhere after this response.
    if (draining) res.setHeader('connection', 'close');
    handler(new NodeExchange(req, res));
  };
  const h2 = listen.tls ? listen.http2.enabled : listen.http2.h2c;
  const secure = listen.tls ? https.createServer({ ...options, ...tlsServerOptions(listen.tls), ...(h2 ? { ALPNProtocols: ['h2', 'http/1.1'] } : {}) }, counted) : undefined;
  const server: Server = secure ?? http.createServer(options, counted);
  const countedH2: H2Handler = (req, res) => {
    active++;
    res.on('close', done);
    handler(new H2Exchange(req, res));
  };
  const sessions = h2 ? new H2Sessions(http2Limits(listen), countedH2) : undefined;
  if (sessions) divertHttp2(server, sessions, secure !== undefined, options.headersTimeout);
  const upgrades = new UpgradeTracker();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A draining listener takes no new WebSocket: the client should reconnect elsewhere.
    if (draining) return socket.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    // Any upgrade (WebSocket or not) goes through the pipeline; routing refuses what a route does not take.
    handler(upgrades.exchange(req, socket, head));
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Malformed requests and over-large heads get a bare status line, never a stack trace.
    if (!socket.writable) return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => { server.off('error', reject); resolve(); });
  });
  const startedTls = listen.tls;
  let applied = startedTls ? tlsMaterial(startedTls, startedTls) : undefined;
  return {
    server,
    port: (server.address() as AddressInfo).port,
    inFlight: () => active + upgrades.live,
    updateTls(tls) {
      if (!secure || !startedTls || !applied || !tls) return false;
      const next = tlsMaterial(startedTls, tls);
      if (sameTlsMaterial(applied, next)) return false;
      // setSecureContext records the options on the server before it builds the context: build one
      // first, so that a bad certificate or key fails here with the old context untouched.
      try {
        createSecureContext(next);
      } catch (err) {
        throw new Error(`listen.tls: the new certificate, key or client CAs are not usable (${err instanceof Error ? err.message : String(err)}); still serving the previous ones`, { cause: err });
      }
      secure.setSecureContext(next);
      applied = next;
      return true;
    },
    async drain(graceMs) {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      sessions?.goAway();
      server.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (active + upgrades.live > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        server.closeIdleConnections();
      }
      const forced = active + upgrades.live;
      if (upgrades.live > 0) {
        upgrades.goAway();
        const closing = Date.now() + WEBSOCKET_CLOSE_WAIT_MS;
        while (upgrades.live > 0 && Date.now() < closing) await new Promise((r) => setTimeout(r, 20));
        upgrades.destroyAll();
      }
      sessions?.destroyAll();
      server.closeAllConnections();
      await closed;
      return { forced };
    },
  };
}
