import type { Static } from '@sinclair/typebox';
import type { RuleSchema } from './schema.js';
import type { Identity } from '../identity/identity.js';
import { compileRule, type CompiledRule } from './compile.js';

/** The outcome of authorization: data, rendered to HTTP elsewhere. Deny wins over allow. */
export type Decision =
  | { readonly allow: true; readonly rule: string; readonly reason: 'allowed' | 'public' }
  | { readonly allow: false; readonly rule?: string; readonly reason: 'denied_by_rule' | 'no_rule_matched'; readonly detail: string };

/** Per-route policy: built once, evaluated per request, and the same code `gatehouse explain` runs. */
export interface Policy {
  evaluate(identity: Identity): Decision;
  /** Every rule with why it did or did not match, for explain. */
  trace(identity: Identity): { rule: string; kind: 'deny' | 'allow'; matched: boolean; why?: string }[];
}

const ANY_AUTHENTICATED: CompiledRule = { name: 'any-authenticated', failure: () => undefined };

/** Compile a route's `deny` and `allow` lists. No `allow` list: any authenticated caller passes. */
export function compilePolicy(allow: readonly Static<typeof RuleSchema>[] | undefined, deny: readonly Static<typeof RuleSchema>[] | undefined): Policy {
  const denyRules = (deny ?? []).map((r, i) => compileRule(r, `deny[${i}]`));
  const allowRules = allow === undefined ? [ANY_AUTHENTICATED] : allow.map((r, i) => compileRule(r, `allow[${i}]`));
  return {
    evaluate(identity) {
      for (const rule of denyRules) {
        if (rule.failure(identity) === undefined) return { allow: false, rule: rule.name, reason: 'denied_by_rule', detail: `denied by rule ${rule.name}` };
      }
      for (const rule of allowRules) {
        if (rule.failure(identity) === undefined) return { allow: true, rule: rule.name, reason: 'allowed' };
      }
      return { allow: false, reason: 'no_rule_matched', detail: allowRules.length === 0 ? 'the route allows nobody' : 'no allow rule matched the caller' };
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
export const PUBLIC_DECISION: Decision = { allow: true, rule: 'public', reason: 'public' };
