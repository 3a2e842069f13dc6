import type { Static } from '@sinclair/typebox';
import type { ConfigIssue } from '../config/issue.js';
import type { Config } from '../config/schema.js';
import type { LimitSchema } from './schema.js';

type LimitConfig = Static<typeof LimitSchema>;

function limitListIssues(limits: readonly LimitConfig[], path: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const names = new Set<string>();
  limits.forEach((limit, i) => {
    const at = `${path}/${i}`;
    if (names.has(limit.name)) issues.push({ path: `${at}/name`, message: `duplicate limit name "${limit.name}"` });
    names.add(limit.name);
    if ((limit.rate === undefined) === (limit.quota === undefined)) {
      issues.push({ path: at, message: `limit "${limit.name}" needs exactly one of \`rate\` (e.g. 50/s) or \`quota\` (e.g. 10000/day)` });
    }
    if (limit.burst !== undefined && limit.rate === undefined) issues.push({ path: `${at}/burst`, message: '`burst` goes with `rate`' });
  });
  return issues;
}

/** Checks on limits and plans that the schema cannot express (called by config/semantic.ts). */
export function limitIssues(config: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const plans = Object.entries(config.plans ?? {});
  for (const [name, plan] of plans) issues.push(...limitListIssues(plan.limits, `/plans/${name}/limits`));
  if (plans.filter(([, p]) => p.default === true).length > 1) issues.push({ path: '/plans', message: 'only one plan can be `default: true`' });
  if (config.limits?.store === 'redis' && !config.limits.redis) {
    issues.push({ path: '/limits/redis', message: 'missing required key "redis": `store: redis` needs `redis: { url: ... }`' });
  }
  config.routes.forEach((route, i) => {
    issues.push(...limitListIssues(route.limits ?? [], `/routes/${i}/limits`));
    if (route.plan === true && plans.length === 0) issues.push({ path: `/routes/${i}/plan`, message: '`plan: true` needs `plans:` at the top level' });
    if (route.plan === true && route.public === true) issues.push({ path: `/routes/${i}/plan`, message: 'a public route has no caller identity to assign a plan to' });
  });
  return issues;
}
