import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Readable } from 'node:stream';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RequestRecord } from '../../src/observe/events.js';
import type { UpstreamConfig as AnyUpstreamConfig } from '../../src/upstream/registry.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';

/** The HTTP upstream settings a test may set (the gateway applies the schema's defaults). */
export type UpstreamConfig = Partial<Extract<AnyUpstreamConfig, { url: string }>>;

export interface Running {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** Start a node:http (or https, with tls) server on 127.0.0.1, port 0. */
export async function startServer(handler: RequestListener, tls?: { cert: string; key: string }): Promise<Running> {
  const server = tls ? createHttpsServer(tls, handler) : createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** What one request through the gateway came to, from its audit record. */
export interface ForwardOutcome {
  /** The status the client got (the upstream's, or the gateway's refusal). */
  readonly status: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly upstreamMs: number | undefined;
  /** The upstream's response headers reached the client. */
  readonly responded: boolean;
  readonly error: { readonly code: string; readonly detail: string } | undefined;
}

export interface Front extends Running {
  /** The outcome of the next request this gateway finishes (read from `gatehouse:request:end`). */
  nextResult(): Promise<ForwardOutcome>;
}

let routes = 0;

/**
 * The real gateway in front of `upstreamUrl`: one public route (`/*`) with these upstream settings
 * and body limit. Outcomes are the gateway's own audit records, as its audit sink receives them.
 */
export async function startFront(upstreamUrl: string, cfg: UpstreamConfig = {}, maxBodyBytes = 10 * 1024 * 1024): Promise<Front> {
  const name = `chain-${++routes}`;
  const gateway: TestGateway = await startGateway({
    audit: { sink: 'off' },
    routes: [{ name, match: { path: '/*' }, public: true, maxBodySize: `${maxBodyBytes}b`, upstream: { connections: 16, ...cfg, url: upstreamUrl } }],
  });
  const waiting: ((r: ForwardOutcome) => void)[] = [];
  const onEnd = (message: unknown): void => {
    const r = message as RequestRecord;
    if (r.route !== name) return;
    waiting.shift()?.({
      status: r.status, bytesIn: r.bytesIn, bytesOut: r.bytesOut, upstreamMs: r.upstreamMs, responded: r.upstreamStatus !== undefined,
      error: r.error === undefined ? undefined : { code: r.error, detail: r.errorDetail ?? '' },
    });
  };
  subscribe('gatehouse:request:end', onEnd);
  return {
    server: gateway.gateway as unknown as Server,
    port: gateway.gateway.port,
    url: gateway.url,
    nextResult: () => new Promise((resolve) => waiting.push(resolve)),
    async close() {
      unsubscribe('gatehouse:request:end', onEnd);
      await gateway.stop();
    },
  };
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface ChainOptions {
  basePath?: string;
  cfg?: UpstreamConfig;
  maxBodyBytes?: number;
  /** Serve the upstream over HTTPS with this certificate. */
  tls?: { cert: string; key: string };
}

/** An upstream server and the real gateway forwarding to it; both added to `opened`. */
export async function startChain(handler: Handler, opts: ChainOptions = {}, opened: { close(): Promise<void> }[] = []): Promise<{ up: Running; front: Front }> {
  const up = await startServer(handler, opts.tls);
  opened.push(up);
  const front = await startFront(up.url + (opts.basePath ?? ''), opts.cfg, opts.maxBodyBytes);
  opened.push(front);
  return { up, front };
}

/** Close everything, last opened first. */
export async function closeAll(opened: { close(): Promise<void> }[]): Promise<void> {
  for (const thing of opened.reverse()) await thing.close();
}

/** Upstream handler answering with what it received, as JSON. */
export function echo(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() }));
  });
}

/** A Readable producing `total` bytes in 64 KiB pieces without ever holding them. */
export function generated(total: number): Readable {
  const block = Buffer.alloc(64 * 1024, 0x61);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const n = Math.min(block.length, total - sent);
      sent += n;
      this.push(n === block.length ? block : block.subarray(0, n));
    },
  });
}
