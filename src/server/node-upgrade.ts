/**
 * The node:http engine's upgrades. The handshake request becomes an ordinary Exchange (a
 * ServerResponse on the socket, so refusals render as for any request); a WebSocket handshake is
 * completed by `ws` only when the pipeline asks (after the upstream accepted). The tracker counts
 * upgrades from arrival until they are done, for the listener's drain.
 */
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { WebSocketUpgrade } from '../pipeline/exchange.js';
import { NodeExchange } from './node-exchange.js';

/** An Exchange on an upgrade request: it lives as long as its socket, not its (never sent) response. */
class NodeUpgradeExchange extends NodeExchange {
  constructor(req: IncomingMessage, res: ServerResponse, private readonly socket: Duplex, readonly upgrade: WebSocketUpgrade | undefined) {
    super(req, res);
  }

  override get closed(): boolean { return this.socket.destroyed || this.res.destroyed; }
  override onClose(fn: () => void): void { this.socket.once('close', fn); }
  override offClose(fn: () => void): void { this.socket.off('close', fn); }
}

/** Whether the request asks for a WebSocket (`Upgrade: websocket`, any case). */
export function wantsWebSocket(req: IncomingMessage): boolean {
  return req.headers.upgrade?.trim().toLowerCase() === 'websocket';
}

/** The upgrades of one listener: how many are live, and how to close the open WebSockets. */
export class UpgradeTracker {
  #live = 0;
  readonly #goAway = new Set<() => void>();
  readonly #sockets = new Set<Duplex>();

  /** Upgrade requests not yet done: in the pipeline, or an open WebSocket. */
  get live(): number { return this.#live; }

  /** Ask every open WebSocket to close (1001, going away). */
  goAway(): void {
    for (const fn of [...this.#goAway]) fn();
  }

  /** Cut what is left (after drain's last wait). */
  destroyAll(): void {
    for (const s of this.#sockets) s.destroy();
  }

  /** The Exchange of an upgrade request on `socket`, counted until it is done. */
  exchange(req: IncomingMessage, socket: Duplex, head: Buffer): NodeExchange {
    // node removed its own listeners from an upgraded socket: an error must not crash the process.
    socket.on('error', () => socket.destroy());
    const res = new ServerResponse(req);
    // No parser reads this connection any more: one answer, then the connection closes.
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Parameters<ServerResponse['assignSocket']>[0]);
    res.once('finish', () => socket.end());
    this.#live++;
    this.#sockets.add(socket);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      this.#live--;
      this.#sockets.delete(socket);
    };
    let accepted = false;
    socket.once('close', () => { if (!accepted) finish(); });
    const upgrade: WebSocketUpgrade | undefined = wantsWebSocket(req) ? {
      accept: (options) => {
        if (socket.destroyed || res.headersSent) return Promise.resolve(undefined);
        accepted = true;
        res.detachSocket(socket as Parameters<ServerResponse['detachSocket']>[0]);
        return acceptWebSocket(req, socket, head, options).then((ws) => {
          if (ws === undefined) finish();
          return ws;
        });
      },
      onShutdown: (goAway) => {
        this.#goAway.add(goAway);
        // The relay unregisters once both sides closed and the record is complete: the upgrade is done then.
        return () => {
          this.#goAway.delete(goAway);
          finish();
        };
      },
    } : undefined;
    return new NodeUpgradeExchange(req, res, socket, upgrade);
  }
}

/** Complete the client's handshake with `ws`; undefined when ws refused it (its 400) or the client went away. */
function acceptWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer, options: Parameters<WebSocketUpgrade['accept']>[0]): Promise<WebSocket | undefined> {
  const server = new WebSocketServer({
    noServer: true, clientTracking: false, perMessageDeflate: false, autoPong: false, maxPayload: options.maxPayload,
    handleProtocols: () => options.protocol ?? false,
  });
  server.on('headers', (lines: string[]) => {
    for (const [name, value] of Object.entries(options.headers)) for (const v of typeof value === 'string' ? [value] : value) lines.push(`${name}: ${v}`);
  });
  return new Promise((resolve) => {
    const gone = (): void => resolve(undefined);
    socket.once('close', gone);
    server.handleUpgrade(req, socket, head, (ws) => {
      socket.off('close', gone);
      // Held until the relay listens (relay.ts resumes both sides).
      ws.pause();
      resolve(ws);
    });
  });
}
