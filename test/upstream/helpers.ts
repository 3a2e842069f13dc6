import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Static } from '@sinclair/typebox';
import type { Identity } from '../../src/identity/identity.js';
import type { UpstreamSchema } from '../../src/outbound/schema.js';
import { compileTrustedProxies, resolveClient, type TrustedProxies } from '../../src/outbound/client.js';
import { buildUpstreamHeaders, compileHeaderPolicy, type HeaderPolicy } from '../../src/outbound/headers.js';
import { createHttpUpstream, type ForwardResult, type HttpUpstream } from '../../src/upstream/http/http.js';

export type UpstreamConfig = Static<typeof UpstreamSchema>;

/** An upstream config with the schema's defaults. */
export function upstreamConfig(url: string, overrides: Partial<UpstreamConfig> = {}): UpstreamConfig {
  return {
    url, connectTimeout: '5s', headersTimeout: '30s', bodyTimeout: '60s', connections: 16,
    forwardAuthorization: false, preserveHost: false, ...overrides,
  };
}

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

export interface Front extends Running {
  /** Resolves with the ForwardResult of the next request the front finishes. */
  nextResult(): Promise<ForwardResult>;
}

export interface FrontOptions {
  maxBodyBytes?: number;
  policy?: HeaderPolicy;
  trusted?: TrustedProxies;
  identity?: Identity;
  assertion?: string;
}

/** The gateway in miniature: resolve the client, build headers, forward, render a problem if nothing was sent. */
export async function startFront(upstream: HttpUpstream, upstreamUrl: string, opts: FrontOptions = {}): Promise<Front> {
  const policy = opts.policy ?? compileHeaderPolicy(upstreamConfig(upstreamUrl), 'x-forwarded', new URL(upstreamUrl).host);
  const trusted = opts.trusted ?? compileTrustedProxies([]);
  const waiting: ((result: ForwardResult) => void)[] = [];
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const [path = '/', query = ''] = (req.url ?? '/').split('?', 2);
    const client = resolveClient(req.socket.remoteAddress ?? '', false, req.headers, trusted);
    const headers = buildUpstreamHeaders(req.headers, client, opts.identity, opts.assertion, policy);
    const result = await upstream.forward(req, res, path, query, headers, opts.maxBodyBytes ?? 10 * 1024 * 1024);
    if (!result.responded && result.error && result.error.code !== 'client_aborted' && !res.destroyed) {
      res.writeHead(result.status, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ code: result.error.code }));
    }
    waiting.shift()?.(result);
  };
  const running = await startServer((req, res) => void handler(req, res));
  return { ...running, nextResult: () => new Promise((resolve) => waiting.push(resolve)) };
}

/** A port that was just free and is now closed: connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const running = await startServer(() => undefined);
  await running.close();
  return running.port;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface ChainOptions {
  basePath?: string;
  cfg?: Partial<UpstreamConfig>;
  maxBodyBytes?: number;
  /** Serve the upstream over HTTPS with this certificate. */
  tls?: { cert: string; key: string };
  front?: Omit<FrontOptions, 'maxBodyBytes' | 'policy'>;
}

/** An upstream server, the HttpUpstream pointing at it and a front forwarding to it; all added to `opened`. */
export async function startChain(handler: Handler, opts: ChainOptions = {}, opened: { close(): Promise<void> }[] = []): Promise<{ up: Running; upstream: HttpUpstream; front: Front }> {
  const up = await startServer(handler, opts.tls);
  opened.push(up);
  const cfg = upstreamConfig(up.url + (opts.basePath ?? ''), opts.cfg);
  const upstream = createHttpUpstream(cfg);
  opened.push(upstream);
  const policy = compileHeaderPolicy(cfg, 'x-forwarded', new URL(cfg.url).host);
  const front = await startFront(upstream, cfg.url, { ...opts.front, maxBodyBytes: opts.maxBodyBytes, policy });
  opened.push(front);
  return { up, upstream, front };
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
