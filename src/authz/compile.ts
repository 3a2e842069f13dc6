import type { Static } from '@sinclair/typebox';
import type { RuleSchema } from './schema.js';
import type { Identity } from '../identity/identity.js';
import { readClaimPath } from '../identity/claims.js';

type RuleConfig = Static<typeof RuleSchema>;
type Condition = (identity: Identity) => string | undefined;

/** A rule compiled once at load: a name and a list of predicates; a predicate returns why it failed. */
export interface CompiledRule {
  readonly name: string;
  /** undefined when every condition holds, else the first failing condition (for explain). */
  failure(identity: Identity): string | undefined;
}

function namesCondition(field: 'roles' | 'groups' | 'scopes', spec: NonNullable<RuleConfig['roles']>): Condition {
  if (Array.isArray(spec)) {
    const required = [...spec];
    return (id) => {
      const have = id[field];
      const missing = required.filter((r) => !have.includes(r));
      return missing.length === 0 ? undefined : `${field} missing ${missing.join(', ')}`;
    };
  }
  const any = [...spec.anyOf];
  return (id) => (any.some((r) => id[field].includes(r)) ? undefined : `${field} has none of ${any.join(', ')}`);
}

function oneOfCondition(field: 'subject' | 'clientId' | 'tenant' | 'provider', spec: string | string[]): Condition {
  const allowed = new Set(Array.isArray(spec) ? spec : [spec]);
  return (id) => {
    const value = id[field];
    return value !== undefined && allowed.has(value) ? undefined : `${field} is not ${[...allowed].join(' or ')}`;
  };
}

type ClaimSpec = NonNullable<RuleConfig['claims']>[string];

function claimValues(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  return [value];
}

function claimCondition(path: string, spec: ClaimSpec): Condition {
  if (typeof spec !== 'object') return (id) => (readClaimPath(id.claims, path) === spec ? undefined : `claim ${path} is not ${String(spec)}`);
  if ('equals' in spec) return (id) => (readClaimPath(id.claims, path) === spec.equals ? undefined : `claim ${path} is not ${String(spec.equals)}`);
  if ('contains' in spec) {
    return (id) => (claimValues(readClaimPath(id.claims, path)).includes(spec.contains) ? undefined : `claim ${path} does not contain ${String(spec.contains)}`);
  }
  const allowed = new Set<unknown>(spec.in);
  return (id) => (allowed.has(readClaimPath(id.claims, path)) ? undefined : `claim ${path} is not one of ${spec.in.join(', ')}`);
}

/** Compile one rule of a route into predicates (done at config load, never per request). */
export function compileRule(rule: RuleConfig, defaultName: string): CompiledRule {
  const conditions: Condition[] = [];
  if (rule.roles) conditions.push(namesCondition('roles', rule.roles));
  if (rule.groups) conditions.push(namesCondition('groups', rule.groups));
  if (rule.scopes) conditions.push(namesCondition('scopes', rule.scopes));
  if (rule.subject) conditions.push(oneOfCondition('subject', rule.subject));
  if (rule.clientId) conditions.push(oneOfCondition('clientId', rule.clientId));
  if (rule.tenant) conditions.push(oneOfCondition('tenant', rule.tenant));
  if (rule.provider) conditions.push(oneOfCondition('provider', rule.provider));
  for (const [path, spec] of Object.entries(rule.claims ?? {})) conditions.push(claimCondition(path, spec));
  return {
    name: rule.name ?? defaultName,
    failure(identity) {
      for (const condition of conditions) {
        const why = condition(identity);
        if (why !== undefined) return why;
      }
      return undefined;
    },
  };
}
