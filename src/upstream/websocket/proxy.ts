/**
 * The upstream stage of a route that proxies WebSockets: an upgrade opens a WebSocket to the
 * upstream with the prepared outbound headers (identity headers, assertion, credentials), and only
 * once the upstream accepted does the client's handshake complete; then the relay runs until both
 * sides closed, and the request's record (published then) says what went through. Any other
 * request on the route goes to the HTTP upstream as usual.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Static } from '@sinclair/typebox';
import { WebSocket } from 'ws';
import type { Refusal } from '../../errors.js';
import type { RequestContext } from '../../pipeline/context.js';
import type { Stage, StageResult } from '../../pipeline/stage.js';
import type { Upstream } from '../upstream.js';
import type { HttpUpstreamSchema } from '../http/schema.js';
import { classifyFailure } from '../http/failure.js';
import { compileTarget } from '../http/target.js';
import { upstreamTlsMaterial, type UpstreamTlsMaterial } from '../http/tls.js';
import { relay } from './relay.js';
import type { WebSocketSettings } from './settings.js';

/** Where and how the upstream WebSocket is opened, compiled once. */
interface WebSocketTarget {
  /** `ws://host:port` or `wss://host:port`. */
  readonly origin: string;
  readonly tls: UpstreamTlsMaterial | undefined;
  readonly servername: string | undefined;
  readonly connectTimeoutMs: number;
}

/** Handshake headers the gateway's own WebSocket client sets: the client's are not copied. */
const HANDSHAKE_HEADERS = ['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-protocol', 'sec-websocket-accept'];

const ABORTED: Refusal = Object.freeze({ code: 'client_aborted', detail: 'client closed the connection' });
const BAD_PROTOCOLS: Refusal = Object.freeze({ code: 'websocket_handshake_invalid', detail: 'Sec-WebSocket-Protocol must list distinct tokens' });

function ignore(): void {}

function compileWebSocketTarget(cfg: Static<typeof HttpUpstreamSchema>): WebSocketTarget {
  const target = compileTarget(cfg);
  const secure = target.url.protocol === 'https:';
  return {
    origin: `${secure ? 'wss' : 'ws'}://${target.url.host}`,
    tls: secure ? upstreamTlsMaterial(cfg) : undefined,
    servername: secure ? cfg.serverName : undefined,
    // The handshake answer is the upstream's response headers: its headers timeout bounds it too.
    connectTimeoutMs: target.connectTimeoutMs + target.headersTimeoutMs,
  };
}

/** The client's requested subprotocols (`Sec-WebSocket-Protocol: a, b`). */
function protocolsOf(ctx: RequestContext): string[] {
  const v = ctx.headers['sec-websocket-protocol'];
  return v === undefined ? [] : v.split(',').map((p) => p.trim()).filter((p) => p !== '');
}

/** Open the upstream WebSocket: the open socket, or the refusal (nothing was sent to the client yet). */
function connectUpstream(ctx: RequestContext, target: WebSocketTarget, settings: WebSocketSettings): Promise<WebSocket | Refusal> {
  const out = ctx.outbound!;
  const headers: Record<string, string | string[]> = { ...out.headers };
  for (const name of HANDSHAKE_HEADERS) delete headers[name];
  const t = target.tls;
  let upstream: WebSocket;
  // ws throws on subprotocols that are not RFC 6455 tokens (or repeated): the client's handshake is at fault.
  try {
    upstream = openUpstream();
  } catch {
    return Promise.resolve(BAD_PROTOCOLS);
  }
  function openUpstream(): WebSocket {
    return new WebSocket(target.origin + out.path, protocolsOf(ctx), {
    headers, perMessageDeflate: false, autoPong: false, followRedirects: false, maxPayload: settings.maxMessageBytes,
    ...(t?.ca !== undefined ? { ca: t.ca } : {}),
    ...(t?.cert !== undefined && t.key !== undefined ? { cert: t.cert, key: t.key } : {}),
    ...(t?.passphrase !== undefined ? { passphrase: t.passphrase } : {}),
    ...(t?.minVersion !== undefined ? { minVersion: t.minVersion } : {}),
    ...(target.servername !== undefined ? { servername: target.servername } : {}),
    });
  }
  return new Promise((resolve) => {
    let settled = false;
    let responded = false;
    const settle = (result: WebSocket | Refusal): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ctx.exchange.offClose(onClientClose);
      upstream.off('error', onError);
      // Until the relay listens (or after terminating a handshake in progress), an error has nobody to hear it.
      upstream.on('error', ignore);
      if (!(result instanceof WebSocket)) upstream.terminate();
      resolve(result);
    };
    const onClientClose = (): void => settle(ABORTED);
    const onError = (err: Error): void => settle(responded
      ? { code: 'upstream_error', internal: 'upstream answered the upgrade with an invalid handshake' }
      : classifyFailure(err, false));
    const timer = setTimeout(() => settle({ code: 'upstream_timeout', internal: 'upstream did not answer the WebSocket upgrade in time' }), target.connectTimeoutMs);
    ctx.exchange.onClose(onClientClose);
    upstream.on('error', onError);
    upstream.on('upgrade', () => { responded = true; });
    upstream.once('unexpected-response', (req: ClientRequest, res: IncomingMessage) => {
      ctx.record.upstreamStatus = res.statusCode;
      res.resume();
      req.destroy();
      settle({ code: 'upstream_websocket_refused', internal: `upstream answered the upgrade with ${res.statusCode ?? 'no status'}` });
    });
    upstream.once('open', () => {
      // Held until the relay listens: a message arriving with the 101 would otherwise have no listener.
      upstream.pause();
      settle(upstream);
    });
  });
}

/** Proxy the WebSocket the client asked for; the refusal when the client got no 101. */
async function proxyWebSocket(ctx: RequestContext, target: WebSocketTarget, settings: WebSocketSettings): Promise<StageResult> {
  const upgrade = ctx.exchange.upgrade!;
  if (ctx.exchange.closed) return ABORTED;
  const t0 = performance.now();
  const upstream = await connectUpstream(ctx, target, settings);
  ctx.record.upstreamMs = performance.now() - t0;
  if (!(upstream instanceof WebSocket)) return upstream;
  const client = await upgrade.accept({ maxPayload: settings.maxMessageBytes, protocol: upstream.protocol || undefined, headers: ctx.responseHeaders });
  if (client === undefined) {
    upstream.close(1001, 'client went away');
    return ABORTED;
  }
  const record = ctx.record;
  record.status = record.upstreamStatus = 101;
  const outcome = await relay(client, upstream, settings, upgrade.onShutdown);
  record.bytesIn = outcome.bytesIn;
  record.bytesOut = outcome.bytesOut;
  record.websocket = { messagesIn: outcome.messagesIn, messagesOut: outcome.messagesOut, closeCode: outcome.closeCode, closedBy: outcome.closedBy };
  return undefined;
}

/** The upstream stage of a route with `websocket`: upgrades are proxied, other requests go to `http`. */
export function websocketUpstreamStage(http: Upstream, cfg: Static<typeof HttpUpstreamSchema>, settings: WebSocketSettings): Stage {
  const target = compileWebSocketTarget(cfg);
  return { name: 'upstream', run: (ctx) => (ctx.exchange.upgrade !== undefined ? proxyWebSocket(ctx, target, settings) : http.send(ctx)) };
}
