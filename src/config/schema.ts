import { Type, type Static } from '@sinclair/typebox';
import { Size, Strict } from './types.js';
import { AdminSchema, ForwardAuthSchema, HeapSchema, ListenSchema } from '../server/schema.js';
import { DevSchema, TokenSourceSchema } from '../authn/schema.js';
import { ProviderSchema } from '../authn/registry.js';
import { MatchSchema } from '../routing/schema.js';
import { RuleSchema } from '../authz/schema.js';
import { AssertionKeySchema } from '../outbound/schema.js';
import { UpstreamSchema } from '../upstream/registry.js';
import { TracingSchema } from '../observe/tracing/schema.js';
import { AuditSchema, LogSchema } from '../audit/schema.js';
import { LimitSchema, LimitsSettingsSchema, PlanSchema } from '../limits/schema.js';
import { SecretsSchema } from './secrets/registry.js';
import { WebSocketSchema } from '../upstream/websocket/schema.js';

const NAME = '^[A-Za-z0-9][A-Za-z0-9._-]*$';

const routeFields = {
  name: Type.String({ pattern: NAME, description: 'Unique route name (audit, metrics, assertion audience).' }),
  match: MatchSchema,
  public: Type.Optional(Type.Boolean({ description: 'The route needs no authentication. Required (true) when `authenticate` is absent; deny by default.' })),
  authenticate: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'Providers accepted on this route. With several OIDC providers, the token `iss` picks one.' })),
  token: Type.Optional(TokenSourceSchema),
  allow: Type.Optional(Type.Array(RuleSchema, { description: 'The request passes if any rule matches. Absent on an authenticated route: any authenticated caller passes.' })),
  deny: Type.Optional(Type.Array(RuleSchema, { description: 'Checked before `allow`; any match refuses (403 `denied_by_rule`).' })),
  allowEncodedSlash: Type.Optional(Type.Boolean({ description: 'Accept `%2F`/`%5C` inside a path segment (forwarded still encoded). Off: 400.' })),
  allowEncodedPercent: Type.Optional(Type.Boolean({ description: 'Accept `%25` followed by two hex digits (an escaped escape such as `%252F`), forwarded as is. Off: 400 `path_double_encoding`, because a backend that decodes the path twice would see a path this route never authorized. Turn it on only for a backend that decodes once.' })),
  maxBodySize: Type.Optional(Size('Largest request body for this route.')),
  limits: Type.Optional(Type.Array(LimitSchema, { description: 'Rate limits and quotas for this route, all enforced (429 `rate_limited` / `quota_exhausted`).' })),
  plan: Type.Optional(Type.Boolean({ description: 'Also enforce the limits of the caller\'s usage plan (see `plans`).' })),
  concurrency: Type.Optional(Type.Integer({ minimum: 1, description: 'Most requests in flight on this route, per gateway process; beyond it 503 `concurrency_limited` with `Retry-After`.' })),
  loginRedirect: Type.Optional(Type.Boolean({ description: 'With a `session:<provider>` authenticator: send a browser without a session to sign in (default). `false` makes the route an API route: every caller without a credential gets 401 with the problem body, never a redirect.' })),
  rateLimitHeaders: Type.Optional(Type.Boolean({ description: 'Send `RateLimit-Policy` and `RateLimit` on successful responses too (always sent on 429).' })),
  websocket: Type.Optional(WebSocketSchema),
};
const ROUTE = 'A route: match → authenticate → authorize → forward.';

/** A route as the rest of the gateway sees it: a named upstream already replaced by its definition. */
export const RouteSchema = Strict({ ...routeFields, upstream: UpstreamSchema }, ROUTE);

/** A route as written: its upstream inline, or the name of an entry of `upstreams` (config/upstream-names.ts). */
const RouteFileSchema = Strict({
  ...routeFields,
  upstream: Type.Union([
    UpstreamSchema,
    Type.String({ pattern: NAME, description: 'The name of an upstream defined under `upstreams:` (shared: one pool, one set of outbound credentials and token caches).' }),
  ], { description: 'Where the request goes and how the gateway proves itself there: inline, or the name of an entry of `upstreams`.' }),
}, ROUTE);

export const ConfigSchema = Strict({
  $schema: Type.Optional(Type.String({ description: 'Editor hint; ignored.' })),
  dev: Type.Optional(DevSchema),
  listen: Type.Optional(ListenSchema),
  admin: Type.Optional(AdminSchema),
  forwardAuth: Type.Optional(ForwardAuthSchema),
  workers: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Literal('auto')], {
    default: 1,
    description: 'Processes serving the public port: `1` serves in this process; N > 1 forks N workers (node:cluster) that share the port while this process serves the admin port and supervises them (restarts a worker that dies); `auto` = one per available CPU. With N > 1, the in-process rate-limit/quota store and concurrency caps count per worker: use `limits.store: redis` for fleet-exact limits. Read at start only (a reload keeps the running count).',
  })),
  heap: Type.Optional(HeapSchema),
  audit: Type.Optional(AuditSchema),
  tracing: Type.Optional(TracingSchema),
  log: Type.Optional(LogSchema),
  assertion: Type.Optional(AssertionKeySchema),
  secrets: Type.Optional(SecretsSchema),
  limits: Type.Optional(LimitsSettingsSchema),
  plans: Type.Optional(Type.Record(Type.String({ pattern: NAME }), PlanSchema, { additionalProperties: false, description: 'Usage plans by name.' })),
  providers: Type.Optional(Type.Record(Type.String({ pattern: NAME }), ProviderSchema, { additionalProperties: false, description: 'Identity providers by name.' })),
  upstreams: Type.Optional(Type.Record(Type.String({ pattern: NAME }), UpstreamSchema, { additionalProperties: false, description: 'Upstreams by name, for routes that share one (`upstream: NAME`).' })),
  routes: Type.Array(RouteFileSchema, { minItems: 1, description: 'Routes, matched most specific first.' }),
}, 'Gatehouse configuration.');

export type RouteConfig = Static<typeof RouteSchema>;
/** A loaded config: every route's upstream an object (names resolved). */
export type Config = Omit<Static<typeof ConfigSchema>, 'routes'> & { routes: RouteConfig[] };
