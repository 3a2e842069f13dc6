import type { Config } from '../config/schema.js';
import type { Identity } from '../identity/identity.js';
import { compileRule, type CompiledRule } from '../authz/compile.js';
import { compileLimit, type CompiledLimit } from './compile.js';

/** A usage plan: its limits and who is on it. */
export interface Plan {
  readonly name: string;
  readonly limits: readonly CompiledLimit[];
}

/** Assigns each identity its plan (first matching plan in file order, else the default plan). */
export interface PlanSet {
  planFor(identity: Identity | undefined): Plan | undefined;
}

/** Compile `plans:` once at load; assignment rules are the same rules `allow` uses. */
export function compilePlans(config: Config): PlanSet | undefined {
  const entries = Object.entries(config.plans ?? {});
  if (entries.length === 0) return undefined;
  const fail = config.limits?.fail ?? 'closed';
  const plans: { plan: Plan; rules: CompiledRule[] }[] = [];
  let fallback: Plan | undefined;
  for (const [name, cfg] of entries) {
    const plan: Plan = { name, limits: cfg.limits.map((l) => compileLimit(l, `plan:${name}`, fail)) };
    plans.push({ plan, rules: (cfg.assign ?? []).map((r, i) => compileRule(r, `assign[${i}]`)) });
    if (cfg.default === true) fallback = plan;
  }
  return {
    planFor(identity) {
      if (identity === undefined) return fallback;
      for (const { plan, rules } of plans) if (rules.some((r) => r.failure(identity) === undefined)) return plan;
      return fallback;
    },
  };
}
