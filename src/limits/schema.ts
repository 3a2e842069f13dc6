import { Type } from '@sinclair/typebox';
import { Duration, Strict } from '../config/types.js';
import { RuleSchema } from '../authz/schema.js';

const KEY_PARTS = ['subject', 'client', 'apikey', 'tenant', 'ip', 'route'] as const;

export const LimitKeySchema = Type.Array(Type.Union([
  ...KEY_PARTS.map((k) => Type.Literal(k)),
  Type.String({ pattern: '^claim:.+$', description: '`claim:<name or dotted path>`' }),
]), {
  minItems: 1,
  description: 'Who shares one budget: any combination of `subject` (provider + subject), `client` (client id), `apikey`, `tenant`, `ip` (client address), `claim:<name>`, or `route` (one budget for everyone on the route). A missing part (no tenant, say) counts as `-`, shared by all callers without it.',
});

export const LimitSchema = Strict({
  name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', description: 'Name shown in `RateLimit-Policy`, audit and metrics.' }),
  key: LimitKeySchema,
  rate: Type.Optional(Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?/([0-9]+(\\.[0-9]+)?)?(ms|s|m|h|d)$', description: 'Steady rate such as `50/s`, `1000/m` or `100/10s`.' })),
  burst: Type.Optional(Type.Integer({ minimum: 1, description: 'Requests a caller may send at once from a full bucket (default: one period\'s count).' })),
  quota: Type.Optional(Type.String({
    pattern: '^[0-9]+/(minute|hour|day|month|[0-9]+(ms|s|m|h|d))$',
    description: 'Requests per calendar-aligned UTC period: `10000/day`, `500/hour`, `100000/month`, or a fixed period such as `100/10s`.',
  })),
  fail: Type.Optional(Type.Union([Type.Literal('closed'), Type.Literal('open')], { description: 'Overrides `limits.fail` for this limit.' })),
}, 'One limit: either `rate` (with optional `burst`) or `quota`.');

export const PlanSchema = Strict({
  limits: Type.Array(LimitSchema, { minItems: 1, description: 'Limits every caller on this plan gets, on every route with `plan: true`; budgets are shared across those routes.' }),
  assign: Type.Optional(Type.Array(RuleSchema, { description: 'Callers whose identity matches any rule are on this plan (first plan in file order wins).' })),
  default: Type.Optional(Type.Boolean({ description: 'The plan for callers no other plan assigns.' })),
}, 'A usage plan: a named set of limits that identities or API keys are assigned to.');

export const LimitsSettingsSchema = Strict({
  store: Type.Union([Type.Literal('memory'), Type.Literal('redis')], { default: 'memory', description: '`memory`: one process. `redis`: one shared budget across every gateway replica.' }),
  redis: Type.Optional(Strict({
    url: Type.Optional(Type.String({ minLength: 1, description: 'One Redis server (or a proxy in front of many): e.g. `redis://127.0.0.1:6379`, `rediss://…` for TLS, or `${env:REDIS_URL}`. Give either `url` or `cluster`.' })),
    cluster: Type.Optional(Strict({
      nodes: Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description: 'Seed nodes of a Redis Cluster, e.g. `[redis://10.0.0.1:6379, redis://10.0.0.2:6379]`: the client learns every master and replica from any one that answers, follows MOVED/ASK and re-reads the slot map after a failover. All nodes share one scheme (`rediss://` for TLS) and one user/password (write the password as a reference: `redis://:${env:REDIS_PASSWORD}@10.0.0.1:6379`).',
      }),
    }, 'Redis Cluster instead of one server: limit state is spread over the masters by caller key (each caller\'s keys share one slot).')),
    prefix: Type.String({ default: 'gatehouse:', description: 'Key prefix.' }),
    timeout: Duration('Per-check timeout; past it the store counts as unavailable.', '250ms'),
    leaseTokens: Type.Integer({
      minimum: 1, maximum: 1000, default: 1,
      description: 'Rate-limit tokens a gateway process takes from Redis at once per caller key and spends locally for up to 1 s (never more than a tenth of the limit\'s burst). `1` (default): every request asks Redis, limits are exact across the fleet. `N > 1`: up to N times fewer Redis round trips for busy callers; in any window a caller can get at most N − 1 requests per gateway process beyond the limit (the tokens that process holds), and unspent tokens expire (stricter). Quotas always ask Redis.',
    }),
  }, 'Redis connection for `store: redis`.')),
  fail: Type.Union([Type.Literal('closed'), Type.Literal('open')], {
    default: 'closed',
    description: 'When the store cannot decide (Redis down): `closed` answers 503 `limiter_unavailable`; `open` keeps serving under a local in-memory limiter with the same limits.',
  }),
  maxKeys: Type.Integer({ minimum: 1000, default: 100000, description: 'Most caller keys the in-memory store (and the fail-open fallback) keeps; the oldest are evicted beyond it.' }),
}, 'Where rate-limit and quota state lives.');
