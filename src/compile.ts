import type { Config, RouteConfig } from './config/schema.js';

type ProviderConfig = NonNullable<Config['providers']>[string];
import { parseDuration, parseSize } from './config/units.js';
import { RouteTable, type RouteSpec } from './routing/table.js';
import { analyzeRoutes, type RouteWarning } from './routing/analyze.js';
import { jwtProviderFromConfig, type JwtProvider } from './authn/jwt/provider.js';
import { createBearerAuthenticator } from './authn/jwt/bearer.js';
import type { Authenticator } from './authn/authenticator.js';
import { createApiKeyAuthenticator } from './authn/apikey/apikey.js';
import { createSigV4Authenticator } from './authn/sigv4/sigv4.js';
import { createMtlsAuthenticator } from './authn/mtls/mtls.js';
import { createIntrospectionAuthenticator } from './authn/introspection/introspection.js';
import { loadDevIssuer, type DevIssuer } from './authn/dev/dev-issuer.js';
import { compilePolicy, type Policy } from './authz/evaluate.js';
import { compileTrustedProxies, type TrustedProxies } from './outbound/client.js';
import { compileHeaderPolicy, type HeaderPolicy } from './outbound/headers.js';
import { createAssertionSigner, type AssertionSigner } from './outbound/assertion.js';
import { createHttpUpstream, type HttpUpstream } from './upstream/http/http.js';
import { UpstreamPools } from './upstream/http/pools.js';
import { compileLimit } from './limits/compile.js';
import { compilePlans, type PlanSet } from './limits/plans.js';
import { RouteLimiter, type LimitStores } from './limits/stage.js';
import { InFlight } from './limits/concurrency.js';
import { MemoryStore } from './limits/memory-store.js';

/** Where compile reports dependency state changes (e.g. Redis down/up): once per change, not per request. */
export interface CompileLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** A route ready to serve: every stage instance built once at load. */
export interface CompiledRoute {
  readonly name: string;
  readonly public: boolean;
  readonly authenticators: readonly Authenticator[];
  readonly policy: Policy | undefined;
  readonly allowEncodedSlash: boolean;
  readonly maxBodyBytes: number;
  readonly upstream: HttpUpstream;
  /** Upstream origin for audit (never contains credentials). */
  readonly upstreamLabel: string;
  readonly headerPolicy: HeaderPolicy;
  readonly assertionTtlSec: number | undefined;
  /** Rate limits, quotas and plan limits; undefined when the route has none. */
  readonly limiter: RouteLimiter | undefined;
  /** The route accepts bearer tokens (refusals then carry an RFC 6750 challenge). */
  readonly bearer: boolean;
  /** What to tell a caller who presented no credential at all. */
  readonly missingCredential: string;
  /** Concurrency caps to take before forwarding: the route's, then its upstream origin's. */
  readonly inFlight: readonly InFlight[];
}

/** The whole compiled configuration. Reload builds a new one and swaps the reference. */
export interface Runtime {
  readonly config: Config;
  readonly table: RouteTable<CompiledRoute>;
  readonly routes: readonly CompiledRoute[];
  readonly providers: ReadonlyMap<string, ProviderEntry>;
  readonly devIssuer: DevIssuer | undefined;
  readonly signer: AssertionSigner;
  readonly trusted: TrustedProxies;
  readonly warnings: readonly RouteWarning[];
  /** Start key fetches; resolves when every provider has tried once. */
  start(): Promise<void>;
  /** Readiness: every provider has keys. */
  readiness(): { ready: boolean; providers: Record<string, boolean> };
  close(): Promise<void>;
}

export interface CompileOptions {
  readonly baseDir: string;
  /** Reuse the signing key across reloads so assertions stay verifiable. */
  readonly signer?: AssertionSigner;
  /** Build upstream pools and store connections (off for `explain` and `validate`, which send no traffic). */
  readonly upstreams?: boolean;
  readonly log?: CompileLog;
}

interface Shared {
  /** Parts built once per distinct configuration and shared by every route using it (10,000 routes → a few objects). */
  readonly memo: Map<string, unknown>;
  readonly pools: UpstreamPools;
  readonly stores: LimitStores;
  readonly plans: PlanSet | undefined;
  readonly upstreamCaps: Map<string, InFlight>;
}

async function buildStores(config: Config, opts: CompileOptions): Promise<LimitStores> {
  const settings = config.limits!;
  const fallback = new MemoryStore({ maxKeys: settings.maxKeys });
  if (settings.store !== 'redis' || opts.upstreams === false) return { primary: fallback, fallback };
  const redis = settings.redis!;
  // Loaded only when configured: the Redis client costs ~8 MB of memory in every process otherwise.
  const { RedisStore } = await import('./limits/redis-store.js');
  const primary = new RedisStore({
    url: redis.url, prefix: redis.prefix, timeoutMs: parseDuration(redis.timeout), leaseTokens: redis.leaseTokens,
    onStateChange(state, err) {
      if (state === 'down') opts.log?.warn({ store: 'redis', error: err?.message, fail: settings.fail }, 'rate-limit store unavailable');
      else opts.log?.info({ store: 'redis' }, 'rate-limit store available again');
    },
  });
  return { primary, fallback };
}

/** One cap per upstream origin, shared by every route using it; the smallest configured maximum wins. */
function upstreamCaps(config: Config): Map<string, InFlight> {
  const max = new Map<string, number>();
  for (const route of config.routes) {
    const m = route.upstream.maxInFlight;
    if (m === undefined) continue;
    const origin = new URL(route.upstream.url).origin;
    max.set(origin, Math.min(m, max.get(origin) ?? m));
  }
  return new Map([...max].map(([origin, m]) => [origin, new InFlight(m)]));
}

function upstreamCap(route: RouteConfig, caps: Map<string, InFlight>): InFlight | undefined {
  return route.upstream.maxInFlight === undefined ? undefined : caps.get(new URL(route.upstream.url).origin);
}

const NO_UPSTREAM: HttpUpstream = {
  forward() { throw new Error('upstreams are not built in this mode'); },
  async close() {},
};

function upstreamLabel(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
}

const CREDENTIAL_HINT: Record<string, string> = {
  bearer: 'a bearer token in the Authorization header',
  introspection: 'a bearer token in the Authorization header',
  apikey: 'an API key',
  sigv4: 'an AWS SigV4-signed request',
  mtls: 'a client certificate',
};

/** A configured provider: a JWT issuer (grouped per route into one bearer authenticator) or an authenticator of its own. */
export type ProviderEntry = { readonly kind: 'jwt'; readonly jwt: JwtProvider } | { readonly kind: 'other'; readonly authenticator: Authenticator };

function buildProvider(name: string, cfg: ProviderConfig, baseDir: string, log: CompileLog | undefined): ProviderEntry {
  const ctx = { baseDir, ...(log ? { log } : {}) };
  switch (cfg.type) {
    case 'oidc': return { kind: 'jwt', jwt: jwtProviderFromConfig(name, cfg) };
    case 'api-key': return { kind: 'other', authenticator: createApiKeyAuthenticator(name, cfg, ctx) };
    case 'sigv4': return { kind: 'other', authenticator: createSigV4Authenticator(name, cfg, ctx) };
    case 'mtls': return { kind: 'other', authenticator: createMtlsAuthenticator(name, cfg, ctx) };
    case 'introspection': return { kind: 'other', authenticator: createIntrospectionAuthenticator(name, cfg, ctx) };
  }
}

function buildProviders(config: Config, dev: DevIssuer | undefined, baseDir: string, log?: CompileLog): Map<string, ProviderEntry> {
  const providers = new Map<string, ProviderEntry>();
  if (dev) providers.set('dev', { kind: 'jwt', jwt: dev.provider });
  for (const [name, cfg] of Object.entries(config.providers ?? {})) providers.set(name, buildProvider(name, cfg, baseDir, log));
  return providers;
}

/**
 * The route's authenticators in its `authenticate` order; its JWT providers form one bearer
 * authenticator (the token's `iss` picks among them) placed where the first of them is listed.
 */
function routeAuthenticators(route: RouteConfig, providers: Map<string, ProviderEntry>): Authenticator[] {
  const entries = (route.authenticate ?? []).map((name) => {
    const p = providers.get(name);
    if (!p) throw new Error(`route "${route.name}": unknown provider "${name}"`);
    return p;
  });
  const jwts = entries.flatMap((e) => (e.kind === 'jwt' ? [e.jwt] : []));
  const opaque = entries.some((e) => e.kind === 'other' && e.authenticator.kind === 'introspection');
  const out: Authenticator[] = [];
  let bearerPlaced = false;
  for (const e of entries) {
    if (e.kind === 'other') out.push(e.authenticator);
    else if (!bearerPlaced) {
      out.push(createBearerAuthenticator(jwts, route.token ?? { header: true }, { opaqueNotMine: opaque }));
      bearerPlaced = true;
    }
  }
  return out;
}

function entryReady(e: ProviderEntry): boolean {
  return e.kind === 'jwt' ? e.jwt.ready : e.authenticator.ready ?? true;
}

function compileLimiter(route: RouteConfig, config: Config, shared: Shared): RouteLimiter | undefined {
  const limits = (route.limits ?? []).map((l) => compileLimit(l, `route:${route.name}`, config.limits!.fail));
  const plans = route.plan === true ? shared.plans : undefined;
  if (limits.length === 0 && plans === undefined) return undefined;
  return new RouteLimiter(limits, plans, shared.stores, route.rateLimitHeaders === true);
}

/** The object built for `key` by an earlier route, or a new one (immutable, stateless parts only). */
function memo<T>(shared: Shared, kind: string, key: unknown, build: () => T): T {
  const id = `${kind}\0${JSON.stringify(key)}`;
  let value = shared.memo.get(id) as T | undefined;
  if (value === undefined) shared.memo.set(id, (value = build()));
  return value;
}

function compileRoute(route: RouteConfig, config: Config, providers: Map<string, ProviderEntry>, opts: CompileOptions, shared: Shared): CompiledRoute {
  const listen = config.listen!;
  const authenticators = memo(shared, 'authn', [route.authenticate ?? [], route.token ?? null], () => routeAuthenticators(route, providers));
  const credentialHeaders = authenticators.flatMap((a) => a.credentialHeaders ?? []);
  const bearer = authenticators.some((a) => a.kind === 'bearer' || a.kind === 'introspection');
  const assertion = route.upstream.assertion;
  const assertionTtlSec = assertion === undefined || assertion === false ? undefined : parseDuration(assertion === true ? '60s' : assertion.ttl) / 1000;
  return {
    name: route.name,
    public: route.public === true,
    authenticators,
    policy: route.public === true ? undefined : memo(shared, 'policy', [route.allow ?? null, route.deny ?? null], () => compilePolicy(route.allow, route.deny)),
    allowEncodedSlash: route.allowEncodedSlash === true,
    maxBodyBytes: parseSize(route.maxBodySize ?? listen.maxBodySize),
    upstream: opts.upstreams === false ? NO_UPSTREAM : memo(shared, 'upstream', route.upstream, () => createHttpUpstream(route.upstream, shared.pools)),
    upstreamLabel: upstreamLabel(route.upstream.url),
    headerPolicy: memo(shared, 'headers', [route.upstream, listen.forwardedHeaders, credentialHeaders], () => compileHeaderPolicy(route.upstream, listen.forwardedHeaders, new URL(route.upstream.url).host, credentialHeaders)),
    assertionTtlSec,
    limiter: compileLimiter(route, config, shared),
    bearer,
    missingCredential: `send ${authenticators.map((a) => CREDENTIAL_HINT[a.kind] ?? a.kind).join(' or ')}`,
    inFlight: [
      ...(route.concurrency !== undefined ? [new InFlight(route.concurrency)] : []),
      ...[upstreamCap(route, shared.upstreamCaps)].filter((c): c is InFlight => c !== undefined),
    ],
  };
}

/** Compile a loaded, validated config into runtime objects. Nothing here runs per request. */
export async function compileRuntime(config: Config, opts: CompileOptions): Promise<Runtime> {
  const dev = config.dev ? await loadDevIssuer(config.dev, opts.baseDir) : undefined;
  const providers = buildProviders(config, dev, opts.baseDir, opts.log);
  const shared: Shared = { memo: new Map(), pools: new UpstreamPools(), stores: await buildStores(config, opts), plans: compilePlans(config), upstreamCaps: upstreamCaps(config) };
  const routes = config.routes.map((r) => compileRoute(r, config, providers, opts, shared));
  const specs: RouteSpec<CompiledRoute>[] = config.routes.map((r, i) => ({
    name: r.name, path: r.match.path, value: routes[i]!,
    ...(r.match.host ? { host: r.match.host } : {}),
    ...(r.match.methods ? { methods: r.match.methods } : {}),
  }));
  const signer = opts.signer ?? (await createAssertionSigner({
    issuer: config.assertion?.issuer ?? 'gatehouse',
    ...(config.assertion?.privateKey ? { privateKeyPem: config.assertion.privateKey } : {}),
  }));
  return {
    config,
    table: new RouteTable(specs),
    routes,
    providers,
    devIssuer: dev,
    signer,
    trusted: compileTrustedProxies(config.listen!.trustedProxies),
    warnings: analyzeRoutes(specs),
    async start() {
      await Promise.allSettled([...providers.values()].map((p) => (p.kind === 'jwt' ? p.jwt.start() : p.authenticator.start?.())));
    },
    readiness() {
      const status: Record<string, boolean> = {};
      for (const [name, p] of providers) status[name] = entryReady(p);
      return { ready: Object.values(status).every(Boolean), providers: status };
    },
    async close() {
      for (const p of providers.values()) {
        if (p.kind === 'jwt') p.jwt.close();
        else p.authenticator.close?.();
      }
      await Promise.allSettled([shared.pools.close(), shared.stores.primary.close(), shared.stores.fallback.close()]);
    },
  };
}
