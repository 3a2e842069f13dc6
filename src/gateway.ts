import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { performance } from 'node:perf_hooks';
import type { Runtime } from './compile.js';
import { ERRORS, type ErrorCode } from './errors.js';
import type { ClientTls } from './authn/authenticator.js';
import { decide } from './decide.js';
import { resolveClient } from './outbound/client.js';
import { buildUpstreamHeaders } from './outbound/headers.js';
import { sendProblem } from './pipeline/render.js';
import { bufferedBody, readBody } from './server/body.js';
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
  const time = Date.now();
  const requestId = newRequestId();
  const traceparent = nextTraceparent(req.headers.traceparent as string | undefined);
  const method = req.method ?? 'GET';
  if (req.url === JWKS_PATH && (method === 'GET' || method === 'HEAD')) {
    // Reserved path, answered before routing so that upstreams can always verify assertions.
    serveJwks(runtime, res);
    return;
  }
  const socket = req.socket as TLSSocket;
  const client = resolveClient(socket.remoteAddress ?? '', socket.encrypted === true, req.headers, runtime.trusted);
  const tls = clientTls(socket);
  let verdict = decide(runtime, {
    method, url: req.url ?? '/', headers: req.headers, rawHeaders: req.rawHeaders, body: (limit) => readBody(req, limit), tls,
  });
  if (verdict instanceof Promise) verdict = await verdict;
  // Every field present from the start: one object shape for every record.
  const record: RequestRecord = {
    time, requestId, traceparent, method, path: verdict.path, host: client.host, clientAddress: client.address,
    route: verdict.route?.name, identity: verdict.identity, authn: verdict.authn, decision: verdict.decision, limit: undefined, upstream: undefined,
    status: 0, error: undefined, bytesIn: 0, bytesOut: 0, durationMs: 0, upstreamMs: undefined,
  };

  if (verdict.kind === 'refuse') return refuse(res, record, start, verdict.code, { bearer: verdict.bearer, detail: verdict.detail, headers: verdict.headers });

  const { route, identity } = verdict;
  // The gateway's own response headers, merged into the upstream's by the forwarder.
  let responseHeaders: Record<string, string> | undefined;
  if (route.limiter) {
    const outcome = await route.limiter.check({ identity, clientAddress: client.address });
    record.limit = { result: outcome.allowed ? 'allowed' : outcome.code!, name: outcome.limit || undefined, plan: outcome.plan || undefined, fallback: outcome.fallback || undefined };
    if (!outcome.allowed) return refuse(res, record, start, outcome.code!, { detail: outcome.limit && `limit "${outcome.limit}"`, headers: outcome.headers });
    if (outcome.headers) responseHeaders = { ...outcome.headers, 'x-request-id': requestId };
  }
  for (let i = 0; i < route.inFlight.length; i++) {
    const cap = route.inFlight[i]!;
    if (cap.tryAcquire()) {
      res.once('close', () => cap.release());
      continue;
    }
    record.limit = { result: 'concurrency_limited' };
    return refuse(res, record, start, 'concurrency_limited', { headers: RETRY_SOON });
  }
  let assertion = identity && route.assertionTtlSec !== undefined ? runtime.signer.mint(identity, route.name, route.assertionTtlSec) : undefined;
  if (assertion instanceof Promise) assertion = await assertion;
  const headers = buildUpstreamHeaders(req.headers, client, identity, assertion, route.headerPolicy);
  headers.traceparent = traceparent;
  headers['x-request-id'] = requestId;
  record.upstream = route.upstreamLabel;
  const result = await route.upstream.forward(
    req, res, verdict.path, verdict.query, headers, route.maxBodyBytes, bufferedBody(req), responseHeaders ?? { 'x-request-id': requestId },
  );
  record.bytesIn = result.bytesIn;
  record.bytesOut = result.bytesOut;
  record.upstreamMs = result.upstreamMs;
  const error = result.error;
  if (error === undefined || result.responded || error.code === 'client_aborted') {
    if (error) record.error = error.code;
    // Nobody is left to answer a client that went away: audited with ERRORS' 499.
    record.status = error?.code === 'client_aborted' ? ERRORS.client_aborted.status : result.status;
    return publish(record, start);
  }
  refuse(res, record, start, error.code, { detail: error.detail });
}

const RETRY_SOON = { 'retry-after': '1' };

/** Answer with a problem body (the one refusal path of the pipeline) and audit it. */
function refuse(
  res: ServerResponse, record: RequestRecord, start: number, code: ErrorCode,
  opts: { bearer?: boolean; detail?: string | undefined; headers?: Record<string, string> | undefined },
): void {
  const sent = sendProblem(res, code, record.requestId, {
    ...(opts.bearer ? { bearer: true } : {}), ...(opts.detail ? { detail: opts.detail } : {}), ...(opts.headers ? { headers: opts.headers } : {}),
  });
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
