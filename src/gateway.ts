import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { performance } from 'node:perf_hooks';
import type { Runtime } from './compile.js';
import type { ErrorCode } from './errors.js';
import type { ClientTls } from './authn/authenticator.js';
import { decide } from './decide.js';
import { resolveClient } from './forward/client.js';
import { buildUpstreamHeaders } from './forward/headers.js';
import { sendProblem } from './server/respond.js';
import { bodyReader } from './server/body.js';
import { newRequestId, nextTraceparent } from './observe/trace.js';
import { requestEnd, type RequestRecord } from './observe/events.js';

/** Where the gateway reads the current runtime; reload swaps `current`. */
export interface RuntimeRef { current: Runtime }

const JWKS_PATH = '/.well-known/jwks.json';

function serveJwks(runtime: Runtime, res: ServerResponse): void {
  const body = JSON.stringify(runtime.signer.jwks);
  res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300', 'content-length': Buffer.byteLength(body) }).end(body);
}

/** Build the request handler for the public listener: decide, then forward or refuse, then audit. */
export function createGateway(ref: RuntimeRef, onError: (err: unknown) => void): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(ref.current, req, res).catch((err: unknown) => {
      // Last resort: never a stack trace to the client, never a crash.
      onError(err);
      if (!res.headersSent) sendProblem(res, 'internal_error', 'unknown');
      else res.destroy();
    });
  };
}

async function handle(runtime: Runtime, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const start = performance.now();
  const requestId = newRequestId();
  const traceparent = nextTraceparent(req.headers.traceparent as string | undefined);
  const method = req.method ?? 'GET';
  const client = resolveClient(req.socket.remoteAddress ?? '', (req.socket as TLSSocket).encrypted === true, req.headers, runtime.trusted);

  if (req.url === JWKS_PATH && (method === 'GET' || method === 'HEAD')) {
    // Reserved path, answered before routing so that upstreams can always verify assertions.
    serveJwks(runtime, res);
    return;
  }
  const body = bodyReader(req);
  const tls = clientTls(req.socket as TLSSocket);
  const verdict = await decide(runtime, { method, url: req.url ?? '/', headers: req.headers, rawHeaders: req.rawHeaders, body: body.read, ...(tls ? { tls } : {}) });
  const record: RequestRecord = {
    time: Date.now(), requestId, traceparent, method, path: verdict.path, host: client.host, clientAddress: client.address,
    authn: verdict.authn, status: 0, bytesIn: 0, bytesOut: 0, durationMs: 0,
    ...(verdict.route ? { route: verdict.route.name } : {}),
    ...(verdict.identity ? { identity: verdict.identity } : {}),
    ...(verdict.decision ? { decision: verdict.decision } : {}),
  };

  if (verdict.kind === 'refuse') {
    const sent = sendProblem(res, verdict.code, requestId, {
      bearer: verdict.bearer, ...(verdict.detail ? { detail: verdict.detail } : {}), ...(verdict.headers ? { headers: verdict.headers } : {}),
    });
    record.status = sent.status;
    record.bytesOut = sent.bytes;
    record.error = verdict.code;
    return publish(record, start);
  }

  const { route, identity } = verdict;
  if (route.limiter) {
    const outcome = await route.limiter.check({ identity, clientAddress: client.address });
    record.limit = {
      result: outcome.allowed ? 'allowed' : outcome.code!,
      ...(outcome.limit ? { name: outcome.limit } : {}), ...(outcome.plan ? { plan: outcome.plan } : {}), ...(outcome.fallback ? { fallback: true } : {}),
    };
    if (!outcome.allowed) return refuseLimited(res, record, start, outcome.code!, outcome.limit, outcome.headers);
    if (outcome.headers) for (const name in outcome.headers) res.setHeader(name, outcome.headers[name]!);
  }
  for (let i = 0; i < route.inFlight.length; i++) {
    const cap = route.inFlight[i]!;
    if (cap.tryAcquire()) {
      res.once('close', () => cap.release());
      continue;
    }
    record.limit = { result: 'concurrency_limited' };
    return refuseLimited(res, record, start, 'concurrency_limited', undefined, { 'retry-after': '1' });
  }
  const assertion = identity && route.assertionTtlSec !== undefined ? await runtime.signer.mint(identity, route.name, route.assertionTtlSec) : undefined;
  const headers = buildUpstreamHeaders(req.headers, client, identity, assertion, route.headerPolicy);
  headers.traceparent = traceparent;
  headers['x-request-id'] = requestId;
  res.setHeader('x-request-id', requestId);
  record.upstream = route.upstreamLabel;
  const result = await route.upstream.forward(req, res, verdict.path, verdict.query, headers, route.maxBodyBytes, body.buffered);
  record.bytesIn = result.bytesIn;
  record.bytesOut = result.bytesOut;
  record.upstreamMs = result.upstreamMs;
  if (result.error) record.error = result.error.code;
  if (result.error?.code === 'client_aborted') record.status = 499;
  else if (result.responded) record.status = result.status;
  else {
    const sent = sendProblem(res, result.error?.code ?? 'upstream_error', requestId, result.error ? { detail: result.error.detail } : {});
    record.status = sent.status;
    record.bytesOut = sent.bytes;
  }
  publish(record, start);
}

function refuseLimited(res: ServerResponse, record: RequestRecord, start: number, code: ErrorCode, limit: string | undefined, headers: Record<string, string> | undefined): void {
  const sent = sendProblem(res, code, record.requestId, { ...(limit ? { detail: `limit "${limit}"` } : {}), ...(headers ? { headers } : {}) });
  record.status = sent.status;
  record.bytesOut = sent.bytes;
  record.error = code;
  publish(record, start);
}

// The client certificate cannot change on a connection: read it once per socket, not per request.
const tlsBySocket = new WeakMap<TLSSocket, ClientTls>();

function clientTls(socket: TLSSocket): ClientTls | undefined {
  if (socket.encrypted !== true) return undefined;
  let tls = tlsBySocket.get(socket);
  if (tls === undefined) {
    tls = { authorized: socket.authorized, ...(socket.authorizationError ? { authorizationError: String(socket.authorizationError) } : {}), peerCertificate: socket.getPeerCertificate(true) };
    tlsBySocket.set(socket, tls);
  }
  return tls;
}

function publish(record: RequestRecord, start: number): void {
  if (!requestEnd.hasSubscribers) return;
  record.durationMs = performance.now() - start;
  requestEnd.publish(record);
}
