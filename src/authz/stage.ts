/** The authorize stage: the route's policy decides; the decision is recorded either way. */
import type { RequestRecord } from '../observe/events.js';
import type { Stage } from '../pipeline/stage.js';
import { PUBLIC_DECISION, type Policy } from './evaluate.js';

/** Authorize an authenticated caller with the route's policy. */
export function authorizationStage(policy: Policy): Stage {
  return {
    name: 'authorize',
    run(ctx) {
      const decision = policy.evaluate(ctx.identity!);
      ctx.record.decision = decision;
      return decision.allow ? undefined : decision.refusal;
    },
  };
}

const PUBLIC: RequestRecord['authn'] = Object.freeze({ result: 'public' });

/** A public route: nobody is asked for a credential, everybody passes. */
export const PUBLIC_STAGE: Stage = {
  name: 'authorize',
  run(ctx) {
    ctx.record.authn = PUBLIC;
    ctx.record.decision = PUBLIC_DECISION;
    return undefined;
  },
};
