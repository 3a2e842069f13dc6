/**
 * The authenticate stage: the route's authenticators in order; the first whose credential is
 * present decides. Each is probed synchronously first (cached tokens, API keys, certificates), so a
 * request that can be decided from memory never waits for a promise.
 */
import { GatehouseError, type ErrorCode, type Refusal } from '../errors.js';
import type { RequestRecord } from '../observe/events.js';
import type { RequestContext } from '../pipeline/context.js';
import type { Stage, StageResult } from '../pipeline/stage.js';
import { ABSENT, PENDING, type AuthnOutcome, type AuthnRequest, type Authenticator } from './authenticator.js';

type AuthnRecord = RequestRecord['authn'];

// One frozen success record per provider: shared by every request it authenticates.
const OK = new Map<string, AuthnRecord>();
function okRecord(provider: string): AuthnRecord {
  let r = OK.get(provider);
  if (r === undefined) OK.set(provider, (r = Object.freeze({ result: 'ok', provider })));
  return r;
}

/** One authenticator's answer, waiting if it has to: the outcome, or undefined when its credential is absent. */
export async function authenticateWith(a: Authenticator, req: AuthnRequest): Promise<AuthnOutcome | undefined> {
  let answer = a.probe(req);
  if (answer === PENDING) answer = await a.authenticate(req);
  return answer === ABSENT ? undefined : answer;
}

function appendSetCookie(ctx: RequestContext, lines: readonly string[]): void {
  const had = ctx.responseHeaders['set-cookie'];
  ctx.responseHeaders['set-cookie'] = [...(had === undefined ? [] : typeof had === 'string' ? [had] : had), ...lines];
}

/** A stage that cannot decide refuses (fail closed); a coded error keeps its code. */
function cannotDecide(ctx: RequestContext, err: unknown): Refusal {
  const code: ErrorCode = err instanceof GatehouseError ? err.code : 'internal_error';
  ctx.record.authn = { result: 'refused', reason: code };
  return { code };
}

function conclude(ctx: RequestContext, outcome: AuthnOutcome): StageResult {
  if (outcome.ok) {
    const { identity } = outcome;
    ctx.identity = ctx.record.identity = identity;
    ctx.record.authn = okRecord(identity.provider);
    // A session that was refreshed or touched sends its new cookie with whatever the response is.
    if (outcome.setCookies !== undefined) appendSetCookie(ctx, outcome.setCookies);
    return undefined;
  }
  const { refusal } = outcome;
  ctx.record.authn = {
    result: 'refused', reason: refusal.code, ...(outcome.provider ? { provider: outcome.provider } : {}), ...(outcome.unverified ? { unverified: outcome.unverified } : {}),
  };
  return refusal;
}

/** The stage for a route's authenticators; `missing` is what a caller without any credential gets. */
export function authenticationStage(authenticators: readonly Authenticator[], missing: Refusal): Stage {
  const absentRecord: AuthnRecord = Object.freeze({ result: 'refused', reason: missing.code });
  const noCredential = (ctx: RequestContext): Refusal => {
    ctx.record.authn = absentRecord;
    return missing;
  };

  /** From authenticator `i` on, which answered PENDING: wait for it, then probe the rest. */
  async function waitFrom(i: number, ctx: RequestContext): Promise<StageResult> {
    try {
      for (let pending = true; i < authenticators.length; i++, pending = false) {
        const a = authenticators[i]!;
        let answer = pending ? PENDING : a.probe(ctx);
        if (answer === PENDING) answer = await a.authenticate(ctx);
        if (answer !== ABSENT) return conclude(ctx, answer);
      }
    } catch (err) {
      return cannotDecide(ctx, err);
    }
    return noCredential(ctx);
  }

  return {
    name: 'authenticate',
    run(ctx) {
      for (let i = 0; i < authenticators.length; i++) {
        let answer: ReturnType<Authenticator['probe']>;
        try {
          answer = authenticators[i]!.probe(ctx);
        } catch (err) {
          return cannotDecide(ctx, err);
        }
        if (answer === ABSENT) continue;
        if (answer === PENDING) return waitFrom(i, ctx);
        return conclude(ctx, answer);
      }
      return noCredential(ctx);
    },
  };
}
