import type { Config, RouteConfig } from './config/schema.js';
import { parseDuration, parseSize } from './config/units.js';
import { RouteTable, type RouteSpec } from './routing/table.js';
import { analyzeRoutes, type RouteWarning } from './routing/analyze.js';
import { jwtProviderFromConfig, type JwtProvider } from './authn/jwt.js';
import { createBearerAuthenticator, type Authenticator } from './authn/bearer.js';
import { loadDevIssuer, type DevIssuer } from './authn/dev-issuer.js';
import { compilePolicy, type Policy } from './authz/evaluate.js';
import { compileTrustedProxies, type TrustedProxies } from './forward/client.js';
import { compileHeaderPolicy, type HeaderPolicy } from './forward/headers.js';
import { createAssertionSigner, type AssertionSigner } from './forward/assertion.js';
import { createHttpUpstream, type HttpUpstream } from './upstream/http.js';

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
}

/** The whole compiled configuration. Reload builds a new one and swaps the reference. */
export interface Runtime {
  readonly config: Config;
  readonly table: RouteTable<CompiledRoute>;
  readonly routes: readonly CompiledRoute[];
  readonly providers: ReadonlyMap<string, JwtProvider>;
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
  /** Build upstream pools (off for `explain` and `validate`, which send no traffic). */
  readonly upstreams?: boolean;
}

const NO_UPSTREAM: HttpUpstream = {
  forward() { throw new Error('upstreams are not built in this mode'); },
  async close() {},
};

function upstreamLabel(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
}

function buildProviders(config: Config, dev: DevIssuer | undefined): Map<string, JwtProvider> {
  const providers = new Map<string, JwtProvider>();
  if (dev) providers.set('dev', dev.provider);
  for (const [name, cfg] of Object.entries(config.providers ?? {})) providers.set(name, jwtProviderFromConfig(name, cfg));
  return providers;
}

function compileRoute(route: RouteConfig, config: Config, providers: Map<string, JwtProvider>, opts: CompileOptions): CompiledRoute {
  const listen = config.listen!;
  const routeProviders = (route.authenticate ?? []).map((name) => {
    const p = providers.get(name);
    if (!p) throw new Error(`route "${route.name}": unknown provider "${name}"`);
    return p;
  });
  const authenticators = routeProviders.length === 0 ? [] : [createBearerAuthenticator(routeProviders, route.token ?? { header: true })];
  const assertion = route.upstream.assertion;
  const assertionTtlSec = assertion === undefined || assertion === false ? undefined : parseDuration(assertion === true ? '60s' : assertion.ttl) / 1000;
  return {
    name: route.name,
    public: route.public === true,
    authenticators,
    policy: route.public === true ? undefined : compilePolicy(route.allow, route.deny),
    allowEncodedSlash: route.allowEncodedSlash === true,
    maxBodyBytes: parseSize(route.maxBodySize ?? listen.maxBodySize),
    upstream: opts.upstreams === false ? NO_UPSTREAM : createHttpUpstream(route.upstream),
    upstreamLabel: upstreamLabel(route.upstream.url),
    headerPolicy: compileHeaderPolicy(route.upstream, listen.forwardedHeaders, new URL(route.upstream.url).host),
    assertionTtlSec,
  };
}

/** Compile a loaded, validated config into runtime objects. Nothing here runs per request. */
export async function compileRuntime(config: Config, opts: CompileOptions): Promise<Runtime> {
  const dev = config.dev ? await loadDevIssuer(config.dev, opts.baseDir) : undefined;
  const providers = buildProviders(config, dev);
  const routes = config.routes.map((r) => compileRoute(r, config, providers, opts));
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
      await Promise.allSettled([...providers.values()].map((p) => p.start()));
    },
    readiness() {
      const status: Record<string, boolean> = {};
      for (const [name, p] of providers) status[name] = p.ready;
      return { ready: Object.values(status).every(Boolean), providers: status };
    },
    async close() {
      for (const p of providers.values()) p.close();
      await Promise.allSettled(routes.map((r) => r.upstream.close()));
    },
  };
}
