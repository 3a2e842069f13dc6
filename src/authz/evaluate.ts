import type { Static } from '@sinclair/typebox';
import type { RuleSchema } from './schema.js';
import type { Identity } from '../identity/identity.js';
import type { Refusal } from '../errors.js';
import { compileRule, type CompiledRule } from './compile.js';

/** The outcome of authorization: data, rendered to HTTP elsewhere. Deny wins over allow. */
export type Decision =
  | { readonly allow: true; readonly rule: string; readonly reason: 'allowed' | 'public' }
  | { readonly allow: false; readonly rule?: string; readonly reason: 'denied_by_rule' | 'no_rule_matched'; readonly detail: string; readonly refusal: Refusal };

/** Per-route policy: built once, evaluated per request, and the same code `gatehouse explain` runs. */
export interface Policy {
  evaluate(identity: Identity): Decision;
  /** Every rule with why it did or did not match, for explain. */
  trace(identity: Identity): { rule: string; kind: 'deny' | 'allow'; matched: boolean; why?: string }[];
}

function denial(reason: 'denied_by_rule' | 'no_rule_matched', detail: string, rule?: string): Decision {
  return Object.freeze({ allow: false, ...(rule !== undefined ? { rule } : {}), reason, detail, refusal: Object.freeze({ code: reason, detail }) });
}

const ANY_AUTHENTICATED: CompiledRule = { name: 'any-authenticated', failure: () => undefined };

/** Compile a route's `deny` and `allow` lists. No `allow` list: any authenticated caller passes. */
export function compilePolicy(allow: readonly Static<typeof RuleSchema>[] | undefined, deny: readonly Static<typeof RuleSchema>[] | undefined): Policy {
  const denyRules = (deny ?? []).map((r, i) => compileRule(r, `deny[${i}]`));
  const allowRules = allow === undefined ? [ANY_AUTHENTICATED] : allow.map((r, i) => compileRule(r, `allow[${i}]`));
  // Every possible decision is built (and frozen) here: evaluating allocates nothing.
  const denied = denyRules.map((rule) => denial('denied_by_rule', `denied by rule ${rule.name}`, rule.name));
  const allowed = allowRules.map((rule): Decision => Object.freeze({ allow: true, rule: rule.name, reason: 'allowed' }));
  const noMatch = denial('no_rule_matched', allowRules.length === 0 ? 'the route allows nobody' : 'no allow rule matched the caller');
  return {
    evaluate(identity) {
      for (let i = 0; i < denyRules.length; i++) if (denyRules[i]!.failure(identity) === undefined) return denied[i]!;
      for (let i = 0; i < allowRules.length; i++) if (allowRules[i]!.failure(identity) === undefined) return allowed[i]!;
      return noMatch;
    },
    trace(identity) {
      const out: ReturnType<Policy['trace']> = [];
      for (const rule of denyRules) {
        const why = rule.failure(identity);
        out.push({ rule: rule.name, kind: 'deny', matched: why === undefined, ...(why ? { why } : {}) });
      }
      for (const rule of allowRules) {
        const why = rule.failure(identity);
        out.push({ rule: rule.name, kind: 'allow', matched: why === undefined, ...(why ? { why } : {}) });
      }
      return out;
    },
  };
}

/** The decision for a public route. */
export const PUBLIC_DECISION: Decision = Object.freeze({ allow: true, rule: 'public', reason: 'public' });
