import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest { method: string; url: string; headers: IncomingHttpHeaders; bodyBytes: number }

export interface TestUpstream {
  readonly url: string;
  readonly port: number;
  readonly seen: SeenRequest[];
  close(): Promise<void>;
}

/** A real upstream on port 0 that records every request; `handler` may override the default echo. */
export async function startUpstream(handler?: (req: IncomingMessage, res: ServerResponse, seen: SeenRequest) => void): Promise<TestUpstream> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const entry: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes: 0 };
    seen.push(entry);
    if (handler) return handler(req, res, entry);
    req.on("data", (c: Buffer) => { entry.bodyBytes += c.length; });
    req.on('end', () => {
      const body = JSON.stringify({ method: entry.method, url: entry.url, headers: entry.headers, bodyBytes: entry.bodyBytes });
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/**
 * A port that refuses connections: a well-known one no service on a test machine uses (`i` picks one of
 * two, for two distinct dead targets). A port freed by closing a test server is not one: a test running
 * alongside can take it in the meantime (it did: 404s from someone else's server).
 */
export function refusingPort(i: 0 | 1 = 0): number {
  return REFUSING_PORTS[i];
}
const REFUSING_PORTS = [1, 9] as const;

/** An upstream address at a refusing port. */
export function refusingUrl(i: 0 | 1 = 0): string {
  return `http://127.0.0.1:${refusingPort(i)}`;
}
