/** A real WebSocket upstream on port 0 (the `ws` server), and a client that reports a refused upgrade. */
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

export interface UpstreamSocket {
  readonly ws: WebSocket;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The close code and reason this side received, once closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
}

export interface WebSocketUpstream {
  readonly url: string;
  /** Every WebSocket the upstream accepted, in order. */
  readonly sockets: UpstreamSocket[];
  /** The next WebSocket the upstream accepts. */
  next(): Promise<UpstreamSocket>;
  close(): Promise<void>;
}

/** An upstream that echoes every message with its type (and greets first on a path with `welcome`); `onSocket` may take over instead. */
export async function startWebSocketUpstream(onSocket?: (s: UpstreamSocket) => void): Promise<WebSocketUpstream> {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server, handleProtocols: (protocols) => (protocols.has('chat.v2') ? 'chat.v2' : false) });
  const sockets: UpstreamSocket[] = [];
  const waiting: ((s: UpstreamSocket) => void)[] = [];
  wss.on('connection', (ws, req) => {
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    const s: UpstreamSocket = { ws, path: req.url ?? '', headers: req.headers, closed };
    sockets.push(s);
    if (onSocket) onSocket(s);
    else {
      if (s.path.includes('welcome')) ws.send('welcome');
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    }
    waiting.shift()?.(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sockets,
    next: () => new Promise((resolve) => waiting.push(resolve)),
    close: () => new Promise((resolve) => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export type Connected = { ok: true; ws: WebSocket; closed: Promise<{ code: number; reason: string }> } | { ok: false; status: number; body: string; headers: IncomingHttpHeaders };

/** Open a WebSocket to `url`: the open socket, or the status and body the upgrade was refused with. */
export function connectWebSocket(url: string, headers: Record<string, string> = {}, protocols: string[] = []): Promise<Connected> {
  const ws = new WebSocket(url, protocols, { headers, perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ ok: false, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers });
        ws.terminate();
      });
    });
    ws.once('error', reject);
    ws.once('open', () => {
      ws.off('error', reject);
      ws.on('error', () => {});
      const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
      resolve({ ok: true, ws, closed });
    });
  });
}

/** The next message `ws` receives, with its type. */
export function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary })));
}
