/** Role mapping for client certificates: rules compiled once at load, matched per new certificate. */
import type { Static } from '@sinclair/typebox';
import type { MtlsProviderSchema } from './schema.js';
import { normalizeFingerprint, type CertificateFacts } from './certificate.js';

type RoleRuleConfig = NonNullable<Static<typeof MtlsProviderSchema>['roles']>[number];
type Test = (facts: CertificateFacts) => boolean;

/** Maps certificate facts to the union of the roles of every matching rule. */
export type RoleMapper = (facts: CertificateFacts) => readonly string[];

const list = (v: string | readonly string[] | undefined): readonly string[] => (v === undefined ? [] : typeof v === 'string' ? [v] : v);

/** `*` is one or more characters other than `/`; everything else is literal. */
export function compilePattern(pattern: string, caseInsensitive = false): (value: string) => boolean {
  if (!pattern.includes('*')) {
    const want = caseInsensitive ? pattern.toLowerCase() : pattern;
    return (value) => (caseInsensitive ? value.toLowerCase() : value) === want;
  }
  const source = pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^/]+');
  const re = new RegExp(`^${source}$`, caseInsensitive ? 'i' : '');
  return (value) => re.test(value);
}

function anyOf(patterns: readonly string[], caseInsensitive = false): (value: string | undefined) => boolean {
  const tests = patterns.map((p) => compilePattern(p, caseInsensitive));
  return (value) => value !== undefined && tests.some((t) => t(value));
}

function ruleTest(match: RoleRuleConfig['match']): Test {
  const tests: Test[] = [];
  if (match.cn !== undefined) {
    const t = anyOf(list(match.cn));
    tests.push((f) => t(f.cn));
  }
  if (match.spiffe !== undefined) {
    const t = anyOf(list(match.spiffe));
    tests.push((f) => t(f.spiffe));
  }
  if (match.dns !== undefined) {
    const t = anyOf(list(match.dns), true);
    tests.push((f) => f.dns.some(t));
  }
  if (match.fingerprint !== undefined) {
    const want = new Set(list(match.fingerprint).map(normalizeFingerprint));
    tests.push((f) => want.has(f.fingerprint));
  }
  if (match.issuerCn !== undefined) {
    const t = anyOf(list(match.issuerCn));
    tests.push((f) => t(f.issuerCn));
  }
  // The schema requires at least one condition; an empty rule would match every certificate.
  if (tests.length === 0) throw new Error('a role rule needs at least one match condition');
  return (facts) => tests.every((t) => t(facts));
}

/** Compile the provider's role rules. */
export function compileRoleRules(rules: readonly RoleRuleConfig[] | undefined): RoleMapper {
  const compiled = (rules ?? []).map((r) => ({ test: ruleTest(r.match), roles: r.roles }));
  return (facts) => {
    const out = new Set<string>();
    for (const rule of compiled) if (rule.test(facts)) for (const role of rule.roles) out.add(role);
    return Object.freeze([...out]);
  };
}
