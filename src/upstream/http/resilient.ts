/**
 * Sending to an upstream with several targets: pick one (target-set.ts), forward as the one-target
 * upstream does (ForwardCall), and on a failure before any answer retry on another target when it
 * is safe and the budget allows. Built only for upstreams that list `targets` or a resilience
 * setting, so the one-target path (http.ts) stays as it was.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import type { ErrorCode, Refusal } from '../../errors.js';
import type { RequestContext } from '../../pipeline/context.js';
import type { StageResult } from '../../pipeline/stage.js';
import { BodyMeter } from './body-meter.js';
import { planBody, refuseUnread as finish } from './body-plan.js';
import { grpcDeadline } from '../../pipeline/grpc.js';
import { ForwardCall, upstreamRequested, type AttemptHooks } from './forward-call.js';
import type { UpstreamTimeouts } from './pools.js';
import type { RetryBudget } from './retry-budget.js';
import type { Target, TargetSet } from './target-set.js';

/** Methods retried after the request reached a target (RFC 9110 §9.2.2 idempotent, minus the rarely proxied TRACE). */
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
/** Failures worth another target; a timeout is not (it already took its whole allowance). */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['upstream_unreachable', 'upstream_error']);
/** Methods whose empty buffered body is still sent as `content-length: 0`. */
const NO_HOOKS: AttemptHooks = Object.freeze({ onStart() {} });

const UNAVAILABLE: Refusal = Object.freeze({
  code: 'upstream_unavailable', internal: 'every target of the upstream is down (health check), ejected or has its circuit open',
});

/** How an upstream with several targets retries. */
export interface RetryPolicy {
  readonly attempts: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly budget: RetryBudget;
}

type Options = Dispatcher.DispatchOptions & { servername?: string };

/** The `send` of an upstream with several targets. */
export function resilientSender(set: TargetSet, retry: RetryPolicy, servername: string | undefined, timeouts: UpstreamTimeouts | undefined): (ctx: RequestContext) => Promise<StageResult> {
  return async function send(ctx) {
    const exchange = ctx.exchange;
    if (exchange.closed) return ForwardCall.CLIENT_ABORTED;
    const out = ctx.outbound!;
    const maxBodyBytes = ctx.route!.maxBodyBytes;
    const deadlineAt = grpcDeadline(ctx.headers, ctx.start, out.headers);
    if (typeof deadlineAt === 'object') return finish(ctx, deadlineAt);
    const plan = planBody(ctx);
    if (typeof plan !== 'string') return plan;
    const buffered = plan === 'buffered' ? out.body! : null;
    const streamed = plan === 'stream';
    const opts: Options = {
      path: out.path, method: out.method as Dispatcher.HttpMethod, headers: out.headers, body: buffered,
      ...(servername !== undefined ? { servername } : {}),
    };
    const record = ctx.record;
    retry.budget.request(performance.now());
    // Safe to send again after a target got (some of) it: idempotent and nothing streamed was consumed.
    const resendable = IDEMPOTENT.has(out.method) && !streamed;
    let tried: Target[] | undefined;
    let last: Refusal | undefined;
    for (let retries = 0; ; retries++) {
      const target = set.pick(tried, performance.now());
      record.upstreamRetries = retries;
      if (target === undefined) return finish(ctx, last ?? UNAVAILABLE);
      record.upstreamTarget = target.label;
      record.upstreamStatus = undefined;
      const { result, started } = await attempt(ctx, target, opts, streamed, maxBodyBytes, deadlineAt, timeouts);
      judge(set, target, result, record.upstreamStatus);
      if (result === undefined) return undefined;
      // Never once response headers arrived (a header Node refused to relay aborts after them).
      const again = RETRYABLE.has(result.code) && record.upstreamStatus === undefined && (!started || resendable) && retries < retry.attempts && !exchange.closed;
      if (!again || !retry.budget.tryRetry(performance.now())) return finish(ctx, result);
      (tried ??= []).push(target);
      last = result;
      await sleep(Math.random() * Math.min(retry.maxBackoffMs, retry.backoffMs * 2 ** retries));
      if (exchange.closed) return finish(ctx, ForwardCall.CLIENT_ABORTED);
    }
  };
}

/** One attempt on one target; a streamed body is piped only once a connection is made. */
async function attempt(ctx: RequestContext, target: Target, opts: Options, streamed: boolean, maxBodyBytes: number, deadlineAt: number | undefined, timeouts: UpstreamTimeouts | undefined): Promise<{ result: StageResult; started: boolean }> {
  let meter: BodyMeter | undefined;
  let hooks = NO_HOOKS;
  if (streamed) {
    const m = (meter = new BodyMeter(maxBodyBytes, () => call.stop('body_too_large')));
    hooks = { onStart: () => ctx.exchange.body.pipe(m) };
  }
  const call: ForwardCall = new ForwardCall(ctx, meter, maxBodyBytes, opts.body === null ? 0 : (opts.body as Buffer).length, hooks, deadlineAt, timeouts);
  if (upstreamRequested.hasSubscribers) upstreamRequested.publish({ ctx, origin: target.label, path: opts.path });
  target.inFlight++;
  try {
    target.pool.dispatch(meter === undefined ? opts : { ...opts, body: meter }, call);
    return { result: await call.done, started: call.started };
  } finally {
    target.inFlight--;
  }
}

/** What an attempt says of its target: a 5xx or a failure counts against it; the client leaving, its body and its deadline do not. */
function judge(set: TargetSet, target: Target, result: StageResult, status: number | undefined): void {
  if (status !== undefined) return status >= 500 ? set.failed(target, performance.now()) : set.succeeded(target);
  if (result === undefined || result.code === 'client_aborted' || result.code === 'body_too_large' || result.code === 'grpc_deadline_exceeded') return set.neutral(target);
  set.failed(target, performance.now());
}
