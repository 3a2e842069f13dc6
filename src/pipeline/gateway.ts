/**
 * The gateway: for every request, route → the route's stages → respond, then one audit record.
 * The listener hands over an Exchange; the runtime is read through a reference that reload swaps.
 */
import { performance } from 'node:perf_hooks';
import { refusal, type Refusal } from '../errors.js';
import { requestEnd } from '../observe/events.js';
import { routeRequest } from '../routing/stage.js';
import { RequestContext } from './context.js';
import type { Exchange } from './exchange.js';
import { answerAllowed, addressedTo, decide, forwardAuthRequest } from './forward-auth.js';
import { renderRefusal } from './render.js';
import type { Runtime } from './runtime.js';
import type { StageResult } from './stage.js';
import type { Tracing } from '../observe/tracing/tracing.js';

/** Where the gateway reads the current runtime; reload swaps `current`. */
export interface RuntimeRef { current: Runtime }

const JWKS_PATH = '/.well-known/jwks.json';
const INTERNAL = refusal('internal_error');

/** Reserved path, answered before routing so that upstreams can always verify assertions. */
function serveJwks(runtime: Runtime, exchange: Exchange): void {
  const body = JSON.stringify(runtime.signer.jwks);
  exchange.send(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300', 'content-length': Buffer.byteLength(body) }, body);
}

/** The respond step: render a refusal (if any), then publish the finished record. */
function respond(ctx: RequestContext, result: StageResult): void {
  if (result !== undefined) renderRefusal(ctx, result);
  else if (ctx.record.forwardAuth) answerAllowed(ctx);
  if (!requestEnd.hasSubscribers) return;
  ctx.record.durationMs = performance.now() - ctx.start;
  requestEnd.publish(ctx.record);
}

/** The gateway's own sign-in paths (when a provider has `login`), else route and run the route's stages. */
function proxy(runtime: Runtime, ctx: RequestContext): StageResult | Promise<StageResult> {
  const sso = runtime.sso?.(ctx);
  if (sso !== undefined) return sso;
  const routed = routeRequest(runtime.table, ctx);
  return 'code' in routed ? (routed as Refusal) : routed.run(ctx);
}

/** A forward-auth question: the route's decision, nothing forwarded. */
const decideOn = (runtime: Runtime, ctx: RequestContext): StageResult | Promise<StageResult> => decide(runtime.table, ctx);

/** Build the request handler for the public listener. `onError` hears about bugs (never the client). */
export function createGateway(ref: RuntimeRef, onError: (err: unknown) => void, tracing?: Tracing): (exchange: Exchange) => void {
  // Last resort: never a stack trace to the client, never a crash.
  const fail = (ctx: RequestContext, err: unknown): void => {
    onError(err);
    if (ctx.exchange.headersSent) ctx.exchange.destroy();
    respond(ctx, INTERNAL);
  };
  const serve = (ctx: RequestContext, runtime: Runtime, step: typeof proxy): void => {
    let result: StageResult | Promise<StageResult>;
    try {
      result = step(runtime, ctx);
    } catch (err) {
      return fail(ctx, err);
    }
    if (result instanceof Promise) result.then((r) => respond(ctx, r), (err: unknown) => fail(ctx, err));
    else respond(ctx, result);
  };
  return (exchange) => {
    const runtime = ref.current;
    if (exchange.url === JWKS_PATH && (exchange.method === 'GET' || exchange.method === 'HEAD')) return serveJwks(runtime, exchange);
    const endpoint = runtime.forwardAuth;
    if (endpoint !== undefined && addressedTo(endpoint, exchange.url)) {
      const { ctx, refusal } = forwardAuthRequest(endpoint, exchange, tracing);
      return refusal === undefined ? serve(ctx, runtime, decideOn) : respond(ctx, refusal);
    }
    serve(new RequestContext(exchange, runtime.trusted, tracing), runtime, proxy);
  };
}
