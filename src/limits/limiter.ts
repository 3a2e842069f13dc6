import type { ErrorCode } from '../errors.js';
import type { CompiledLimit } from './compile.js';
import type { KeyInput } from './keys.js';
import type { Plan, PlanSet } from './plans.js';
import { StoreUnavailableError, type LimitCheck, type LimitResult, type LimitStore } from './store.js';

/** The limit stage's answer for one request. */
export interface LimitOutcome {
  readonly allowed: boolean;
  readonly code?: Extract<ErrorCode, 'rate_limited' | 'quota_exhausted' | 'limiter_unavailable'>;
  /** Name of the limit that refused (or the first one, for limiter_unavailable). */
  readonly limit?: string;
  readonly plan?: string;
  /** Response headers: `RateLimit-Policy`, `RateLimit` and, when refused, `Retry-After`. */
  readonly headers?: Record<string, string>;
  /** The shared store was down and the local fallback decided. */
  readonly fallback?: boolean;
}

export interface LimitStores {
  readonly primary: LimitStore;
  /** Local limiter used when the primary is unavailable and every limit involved fails open. */
  readonly fallback: LimitStore;
}

const ALLOWED: LimitOutcome = { allowed: true };

/** Limits applied together, with their `RateLimit-Policy` value built once. */
interface LimitSet {
  readonly limits: readonly CompiledLimit[];
  readonly policy: string;
}

function limitSet(limits: readonly CompiledLimit[]): LimitSet {
  return { limits, policy: limits.map((l) => l.policy).join(', ') };
}

function rateLimitHeader(limits: readonly CompiledLimit[], results: readonly LimitResult[]): string {
  let out = '';
  for (let i = 0; i < limits.length; i++) {
    const r = results[i]!;
    out += `${i === 0 ? '' : ', '}"${limits[i]!.name}";r=${r.remaining};t=${Math.max(0, Math.ceil(r.resetMs / 1000))}`;
  }
  return out;
}

/** Per route: the route's limits plus the caller's plan limits, checked in one store round trip. */
export class RouteLimiter {
  readonly #limits: readonly CompiledLimit[];
  readonly #plans: PlanSet | undefined;
  readonly #stores: LimitStores;
  readonly #headers: boolean;
  /** The route's own limit set, and per plan (built on first use) the route's plus the plan's. */
  readonly #base: LimitSet;
  readonly #withPlan = new Map<Plan, LimitSet>();

  constructor(limits: readonly CompiledLimit[], plans: PlanSet | undefined, stores: LimitStores, headersOnSuccess: boolean) {
    this.#limits = limits;
    this.#plans = plans;
    this.#stores = stores;
    this.#headers = headersOnSuccess;
    this.#base = limitSet(limits);
  }

  /** The limits that apply to this caller; no per-request array or header string building. */
  #setFor(input: KeyInput): { plan: Plan | undefined; set: LimitSet } {
    const plan = this.#plans?.planFor(input.identity);
    if (plan === undefined) return { plan, set: this.#base };
    let set = this.#withPlan.get(plan);
    if (set === undefined) this.#withPlan.set(plan, (set = limitSet([...this.#limits, ...plan.limits])));
    return { plan, set };
  }

  /** Names and policies of the limits that would apply (for explain; consumes nothing). */
  describe(input: KeyInput): { plan?: string; limits: { name: string; key: string; policy: string }[] } {
    const { plan, set } = this.#setFor(input);
    return { ...(plan ? { plan: plan.name } : {}), limits: set.limits.map((l) => ({ name: l.name, key: l.key(input), policy: l.policy })) };
  }

  /** Count this request against every applicable limit. */
  async check(input: KeyInput): Promise<LimitOutcome> {
    const { plan, set } = this.#setFor(input);
    const limits = set.limits;
    if (limits.length === 0) return ALLOWED;
    const checks: LimitCheck[] = limits.map((l) => ({ spec: l.spec, key: l.key(input) }));
    let results: LimitResult[];
    let fallback = false;
    try {
      results = await this.#stores.primary.check(checks);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      const closed = limits.find((l) => l.fail === 'closed');
      if (closed) return { allowed: false, code: 'limiter_unavailable', limit: closed.name, headers: { 'retry-after': '1' }, ...(plan ? { plan: plan.name } : {}) };
      results = await this.#stores.fallback.check(checks);
      fallback = true;
    }
    return this.#outcome(set, results, plan?.name, fallback);
  }

  #outcome({ limits, policy }: LimitSet, results: readonly LimitResult[], plan: string | undefined, fallback: boolean): LimitOutcome {
    let worst = -1;
    for (let i = 0; i < results.length; i++) {
      if (!results[i]!.allowed && (worst === -1 || results[i]!.retryAfterMs > results[worst]!.retryAfterMs)) worst = i;
    }
    const extra = { ...(plan ? { plan } : {}), ...(fallback ? { fallback } : {}) };
    if (worst === -1) {
      if (!this.#headers) return fallback || plan ? { allowed: true, ...extra } : ALLOWED;
      return { allowed: true, ...extra, headers: { 'ratelimit-policy': policy, ratelimit: rateLimitHeader(limits, results) } };
    }
    const refusing = limits[worst]!;
    return {
      allowed: false,
      code: refusing.spec.kind === 'quota' ? 'quota_exhausted' : 'rate_limited',
      limit: refusing.name,
      ...extra,
      headers: {
        'retry-after': String(Math.max(1, Math.ceil(results[worst]!.retryAfterMs / 1000))),
        'ratelimit-policy': policy,
        ratelimit: rateLimitHeader(limits, results),
      },
    };
  }
}
