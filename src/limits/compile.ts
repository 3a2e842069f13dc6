import type { Static } from '@sinclair/typebox';
import type { LimitSchema } from './schema.js';
import type { LimitSpec } from './store.js';
import { parseDuration, parseRate } from '../config/units.js';
import { compileKey, type KeyInput } from './keys.js';

/** A limit ready to check: its store spec, how to derive the caller key, and its header policy item. */
export interface CompiledLimit {
  readonly name: string;
  readonly spec: LimitSpec;
  readonly key: (input: KeyInput) => string;
  readonly fail: 'open' | 'closed';
  /** This limit's item of `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers). */
  readonly policy: string;
}

const PERIODS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const MONTH_SECONDS = 30 * 86_400;

function quotaSpec(id: string, text: string): LimitSpec {
  const [count, period] = text.split('/') as [string, string];
  if (period === 'month') return { kind: 'quota', id, count: Number(count), window: { kind: 'month' } };
  return { kind: 'quota', id, count: Number(count), window: { kind: 'fixed', ms: PERIODS[period] ?? parseDuration(period) } };
}

function rateSpec(id: string, text: string, burst: number | undefined): LimitSpec {
  const { count, perMs } = parseRate(text);
  return { kind: 'rate', id, count, periodMs: perMs, burst: burst ?? Math.max(1, Math.ceil(count)) };
}

function policyItem(name: string, spec: LimitSpec): string {
  if (spec.kind === 'rate') return `"${name}";q=${spec.burst};w=${Math.max(1, Math.ceil((spec.burst * spec.periodMs) / spec.count / 1000))}`;
  const w = spec.window.kind === 'month' ? MONTH_SECONDS : Math.max(1, Math.round(spec.window.ms / 1000));
  return `"${name}";q=${spec.count};w=${w}`;
}

/** Compile one configured limit. `scope` makes the stored id unique: `route:<name>` or `plan:<name>`. */
export function compileLimit(cfg: Static<typeof LimitSchema>, scope: string, defaultFail: 'open' | 'closed'): CompiledLimit {
  const id = `${scope}/${cfg.name}`;
  const spec = cfg.rate !== undefined ? rateSpec(id, cfg.rate, cfg.burst) : quotaSpec(id, cfg.quota!);
  return { name: cfg.name, spec, key: compileKey(cfg.key), fail: cfg.fail ?? defaultFail, policy: policyItem(cfg.name, spec) };
}
