/**
 * The request pipeline, written down once. docs/guide.md draws the same list and a test keeps the
 * two in step. `route` and `respond` are the gateway's own steps (pipeline/gateway.ts); the stages
 * between them are compiled per route (pipeline/route.ts) and folded by `compose`.
 */
import { channel } from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import type { Refusal } from '../errors.js';
import type { RequestContext } from './context.js';

export const PIPELINE = ['route', 'authenticate', 'authorize', 'limit', 'outbound', 'upstream', 'respond'] as const;

export type StageName = (typeof PIPELINE)[number];

/** A stage continues (undefined) or ends the request with a typed refusal. */
export type StageResult = Refusal | undefined;

/**
 * One step of a route's pipeline. `run` answers synchronously when it can (a cached credential, a
 * policy, a header rewrite) and with a promise only when it must wait; `compose` handles both, so
 * no other interface has to.
 */
export interface Stage {
  readonly name: StageName;
  run(ctx: RequestContext): StageResult | Promise<StageResult>;
}

/** Published after each stage: `{ stage, ctx, refusal }` (audit, metrics and tracing subscribe). */
export const stageEnd = channel('gatehouse:stage:end');

/** What a composed stage list returns: the refusal that ended it, or undefined when every stage continued. */
export type Run = (ctx: RequestContext) => StageResult | Promise<StageResult>;

/** Fold a stage list into one run (undici's `compose`): synchronous until a stage has to wait. */
export function compose(stages: readonly Stage[]): Run {
  for (const s of stages) if (!PIPELINE.includes(s.name)) throw new Error(`unknown pipeline stage "${s.name}"`);
  const order = stages.map((s) => PIPELINE.indexOf(s.name));
  if (order.some((o, i) => i > 0 && o < order[i - 1]!)) throw new Error(`stages out of pipeline order: ${stages.map((s) => s.name).join(', ')}`);
  return (ctx) => runFrom(stages, 0, ctx);
}

function runFrom(stages: readonly Stage[], start: number, ctx: RequestContext): StageResult | Promise<StageResult> {
  for (let i = start; i < stages.length; i++) {
    const stage = stages[i]!;
    const result = stage.run(ctx);
    if (result instanceof Promise) {
      const next = i + 1;
      return result.then((r) => {
        ctx.trace?.marks.push(stage.name, performance.now(), r?.code);
        if (stageEnd.hasSubscribers) stageEnd.publish({ stage: stage.name, ctx, refusal: r });
        return r === undefined ? runFrom(stages, next, ctx) : r;
      });
    }
    ctx.trace?.marks.push(stage.name, performance.now(), result?.code);
    if (stageEnd.hasSubscribers) stageEnd.publish({ stage: stage.name, ctx, refusal: result });
    if (result !== undefined) return result;
  }
  return undefined;
}
