import type { Static } from '@sinclair/typebox';
import { at, indices, keysOf, type Check, type Soundness } from '../config/checks.js';
import type { ConfigIssue } from '../config/issue.js';
import { toPointer } from '../config/pointer.js';
import type { Config } from '../config/schema.js';
import { parseRate, periodMs } from '../config/units.js';
import type { LimitSchema, LimitsSettingsSchema } from './schema.js';

type LimitConfig = Static<typeof LimitSchema>;

/** Shortest quota window: below a second a quota is a rate limit without the burst control (use `rate`). */
export const MIN_QUOTA_PERIOD_MS = 1000;
/** Shortest rate period: timers, clocks and Redis work in milliseconds. */
export const MIN_RATE_PERIOD_MS = 1;


/** `1ms`, `0.5ms`, `1s`: a period in the unit a reader would write it in. */
function formatMs(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Periods a limit can hold: a quota window of at least 1 s, a rate period of at least 1 ms and a positive count. */
function periodIssues(limit: LimitConfig, at: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (limit.quota !== undefined) {
    const period = limit.quota.split('/')[1]!;
    const ms = periodMs(period);
    if (ms !== undefined && ms < MIN_QUOTA_PERIOD_MS) {
      issues.push({
        path: `${at}/quota`,
        message: `quota period "${period}" is below the floor of ${formatMs(MIN_QUOTA_PERIOD_MS)}: a quota counts per window of at least a second (for a short-term cap use \`rate\`, e.g. 20/s)`,
      });
    }
  }
  if (limit.rate !== undefined) {
    const [count, period = ''] = limit.rate.split('/') as [string, string | undefined];
    const ms = /^[0-9]/.test(period) ? periodMs(period) : periodMs(`1${period}`);
    if (ms !== undefined && ms < MIN_RATE_PERIOD_MS) {
      issues.push({ path: `${at}/rate`, message: `rate period "${period}" is below the floor of ${formatMs(MIN_RATE_PERIOD_MS)} (write the same rate over a longer period, e.g. 10/ms as 10000/s)` });
    } else if (!(Number(count) > 0)) {
      issues.push({ path: `${at}/rate`, message: `expected a positive rate such as 50/s, got a count of ${count}` });
    } else {
      try {
        parseRate(limit.rate);
      } catch (err) {
        issues.push({ path: `${at}/rate`, message: (err as Error).message });
      }
    }
  }
  return issues;
}

/** One check per limit of a list: the list's earlier names are found once, on the sound items. */
function limitListChecks(raw: unknown, path: string, soundness: Soundness, get: (c: Config) => readonly LimitConfig[] | undefined): Check<Config>[] {
  const first = new Map<string, number>();
  for (const i of indices(raw)) {
    const name = at(raw, String(i), 'name');
    if (typeof name === 'string' && soundness.sound(`${path}/${i}/name`) && !first.has(name)) first.set(name, i);
  }
  return indices(raw).map((i) => (c: Config): ConfigIssue[] => {
    const limit = get(c)![i]!;
    const here = `${path}/${i}`;
    const issues: ConfigIssue[] = [];
    const earlier = first.get(limit.name);
    if (earlier !== undefined && earlier < i) issues.push({ path: `${here}/name`, message: `duplicate limit name "${limit.name}"` });
    if ((limit.rate === undefined) === (limit.quota === undefined)) {
      issues.push({ path: here, message: `limit "${limit.name}" needs exactly one of \`rate\` (e.g. 50/s) or \`quota\` (e.g. 10000/day)` });
    }
    if (limit.burst !== undefined && limit.rate === undefined) issues.push({ path: `${here}/burst`, message: '`burst` goes with `rate`' });
    return [...issues, ...periodIssues(limit, here)];
  });
}

/** `url` xor `cluster`; cluster nodes are redis(s) URLs with a host and port, all of one scheme. */
function redisIssues(redis: Static<typeof LimitsSettingsSchema>['redis']): ConfigIssue[] {
  if (redis === undefined) return [];
  if ((redis.url === undefined) === (redis.cluster === undefined)) {
    return [{ path: '/limits/redis', message: 'give exactly one of `url` (one Redis server) or `cluster: { nodes: [...] }` (a Redis Cluster)' }];
  }
  const nodes = redis.cluster?.nodes ?? [];
  const issues: ConfigIssue[] = [];
  const schemes = new Set<string>();
  nodes.forEach((node, i) => {
    const url = URL.canParse(node) ? new URL(node) : undefined;
    if (url === undefined || !/^rediss?:$/.test(url.protocol) || url.hostname === '' || url.port === '') {
      issues.push({ path: `/limits/redis/cluster/nodes/${i}`, message: `expected a node URL such as redis://10.0.0.1:6379 or rediss://10.0.0.1:6380 (scheme, host and port)` });
    } else schemes.add(url.protocol);
  });
  if (schemes.size > 1) issues.push({ path: '/limits/redis/cluster/nodes', message: 'mixed redis:// and rediss:// nodes: every node of one cluster is reached the same way (TLS for all or for none)' });
  return issues;
}

/** Checks on limits and plans that the schema cannot express (run by config/semantic.ts, see config/checks.ts). */
export function limitChecks(raw: Config, soundness: Soundness): Check<Config>[] {
  const checks: Check<Config>[] = [];
  const planNames = keysOf(at(raw, 'plans'));
  for (const name of planNames) {
    const path = `/plans/${toPointer([name]).slice(1)}/limits`;
    checks.push(...limitListChecks(at(raw, 'plans', name, 'limits'), path, soundness, (c) => c.plans![name]!.limits));
  }
  checks.push((c) => (Object.values(c.plans ?? {}).filter((p) => p.default === true).length > 1
    ? [{ path: '/plans', message: 'only one plan can be `default: true`' }]
    : []));
  checks.push((c) => (c.limits?.store === 'redis' && !c.limits.redis
    ? [{ path: '/limits/redis', message: 'missing required key "redis": `store: redis` needs `redis: { url: ... }` or `redis: { cluster: { nodes: [...] } }`' }]
    : redisIssues(c.limits?.redis)));
  for (const i of indices(at(raw, 'routes'))) {
    checks.push(...limitListChecks(at(raw, 'routes', String(i), 'limits'), `/routes/${i}/limits`, soundness, (c) => c.routes[i]!.limits));
    checks.push((c) => {
      const route = c.routes[i]!;
      const issues: ConfigIssue[] = [];
      if (route.plan !== true) return issues;
      if (keysOf(c.plans).length === 0) issues.push({ path: `/routes/${i}/plan`, message: '`plan: true` needs `plans:` at the top level' });
      if (route.public === true) issues.push({ path: `/routes/${i}/plan`, message: 'a public route has no caller identity to assign a plan to' });
      return issues;
    });
  }
  return checks;
}
