/** The limit stage: rate limits, quotas and plan limits (one store round trip), then concurrency caps. */
import type { Refusal } from '../errors.js';
import type { RequestContext } from '../pipeline/context.js';
import type { Stage, StageResult } from '../pipeline/stage.js';
import type { InFlight } from './concurrency.js';
import type { LimitOutcome, RouteLimiter } from './limiter.js';

const CONCURRENCY: Refusal = Object.freeze({ code: 'concurrency_limited', headers: Object.freeze({ 'retry-after': '1' }) });
const CONCURRENCY_RECORD = Object.freeze({ result: 'concurrency_limited' as const });

/** Take a slot of every cap (released when the response ends), or refuse. */
function takeCaps(ctx: RequestContext, caps: readonly InFlight[]): StageResult {
  for (let i = 0; i < caps.length; i++) {
    const cap = caps[i]!;
    if (cap.tryAcquire()) {
      ctx.exchange.onClose(() => cap.release());
      continue;
    }
    ctx.record.limit = CONCURRENCY_RECORD;
    return CONCURRENCY;
  }
  return undefined;
}

function judged(ctx: RequestContext, outcome: LimitOutcome, caps: readonly InFlight[]): StageResult {
  ctx.record.limit = { result: outcome.allowed ? 'allowed' : outcome.code!, name: outcome.limit || undefined, plan: outcome.plan || undefined, fallback: outcome.fallback || undefined };
  if (!outcome.allowed) return { code: outcome.code!, ...(outcome.limit ? { detail: `limit "${outcome.limit}"` } : {}), ...(outcome.headers ? { headers: outcome.headers } : {}) };
  if (outcome.headers) Object.assign(ctx.responseHeaders, outcome.headers);
  return takeCaps(ctx, caps);
}

/** The stage for a route's limiter (if any) and caps: the route's own, then its upstream origin's. */
export function limitStage(limiter: RouteLimiter | undefined, caps: readonly InFlight[]): Stage {
  return {
    name: 'limit',
    run(ctx) {
      if (limiter === undefined) return takeCaps(ctx, caps);
      return limiter.check(ctx).then((outcome) => judged(ctx, outcome, caps));
    },
  };
}
