/** The whole configuration compiled into runtime objects, once per load. Reload builds a new one and swaps the reference. */
import type { Config } from '../config/schema.js';
import { RouteTable, type RouteSpec } from '../routing/table.js';
import { analyzeRoutes, type RouteWarning } from '../routing/analyze.js';
import { closeProvider, createProvider, providerReady, SESSION_PREFIX, startProvider, type Provider } from '../authn/registry.js';
import { loadDevIssuer, type DevIssuer } from '../authn/dev/dev-issuer.js';
import { compileTrustedProxies, type TrustedProxies } from '../outbound/client.js';
import { createAssertionSigner, type AssertionSigner } from '../outbound/assertion.js';
import { compilePlans } from '../limits/plans.js';
import { buildStores } from '../limits/stores.js';
import { UpstreamResources } from '../upstream/upstream.js';
import { compileRoute, reservedHeaders, type CompiledRoute } from './route.js';
import { createSsoEndpoints, type SsoEndpoints } from './sso.js';
import type { OutboundCredential } from '../outbound/credentials/credential.js';
import { compileForwardAuth, type ForwardAuthEndpoint } from './forward-auth-request.js';

export type { CompiledRoute } from './route.js';

export interface Runtime {
  readonly config: Config;
  readonly table: RouteTable<CompiledRoute>;
  readonly routes: readonly CompiledRoute[];
  readonly providers: ReadonlyMap<string, Provider>;
  readonly devIssuer: DevIssuer | undefined;
  readonly signer: AssertionSigner;
  readonly trusted: TrustedProxies;
  /** The forward-auth endpoint, when `forwardAuth` asks for one. */
  readonly forwardAuth: ForwardAuthEndpoint | undefined;
  readonly warnings: readonly RouteWarning[];
  /** The gateway-owned sign-in endpoints, when a provider has a `login` block. */
  readonly sso: SsoEndpoints | undefined;
  /** Start key fetches and key-file watches; resolves when every provider has tried once. */
  start(): Promise<void>;
  /** Readiness: every provider has keys. */
  readiness(): { ready: boolean; providers: Record<string, boolean> };
  close(): Promise<void>;
}

export interface CompileOptions {
  readonly baseDir: string;
  /**
   * The signer a running gateway keeps across reloads (it rotates the key itself, so the runtimes
   * before and after a reload sign with the same current key). Absent: one from `assertion`.
   */
  readonly signer?: AssertionSigner;
  /** Connect to shared stores (off for `explain` and `validate`, which send no traffic). */
  readonly connect?: boolean;
}

function buildProviders(config: Config, dev: DevIssuer | undefined, opts: CompileOptions): Map<string, Provider> {
  const providers = new Map<string, Provider>();
  if (dev) providers.set('dev', { kind: 'jwt', jwt: dev.provider });
  const ctx = { baseDir: opts.baseDir };
  for (const [name, cfg] of Object.entries(config.providers ?? {})) {
    const p = createProvider(name, cfg, ctx);
    providers.set(name, p);
    // Its browser sessions are one more authenticator, started, counted ready and closed as such.
    if (p.kind === 'jwt' && p.session !== undefined) providers.set(`${SESSION_PREFIX}${name}`, { kind: 'authenticator', authenticator: p.session });
  }
  return providers;
}

/** Compile a loaded, validated config into runtime objects. Nothing here runs per request. */
export async function compileRuntime(config: Config, opts: CompileOptions): Promise<Runtime> {
  const dev = config.dev ? await loadDevIssuer(config.dev, opts.baseDir) : undefined;
  const providers = buildProviders(config, dev, opts);
  const signer = opts.signer ?? (await createAssertionSigner({
    issuer: config.assertion?.issuer ?? 'gatehouse',
    ...(config.assertion?.privateKey ? { privateKeyPem: config.assertion.privateKey } : {}),
  }));
  const stores = await buildStores(config, opts.connect !== false);
  const resources = new UpstreamResources();
  const env = { config, providers, signer, resources, stores, plans: compilePlans(config), memo: new Map<string, unknown>(), reserved: reservedHeaders(config), baseDir: opts.baseDir, credentials: new Set<OutboundCredential>() };
  const routes = config.routes.map((r) => compileRoute(r, env));
  const specs: RouteSpec<CompiledRoute>[] = config.routes.map((r, i) => ({
    name: r.name, path: r.match.path, value: routes[i]!,
    ...(r.match.host ? { host: r.match.host } : {}),
    ...(r.match.methods ? { methods: r.match.methods } : {}),
  }));
  return {
    config,
    table: new RouteTable(specs),
    routes,
    providers,
    devIssuer: dev,
    signer,
    trusted: compileTrustedProxies(config.listen!.trustedProxies),
    forwardAuth: compileForwardAuth(config),
    warnings: analyzeRoutes(specs),
    sso: createSsoEndpoints([...providers.values()].flatMap((p) => (p.kind === 'jwt' && p.session !== undefined ? [p.session.login] : []))),
    async start() {
      await Promise.allSettled([...[...providers.values()].map(startProvider), ...[...env.credentials].map((c) => c.start?.())]);
    },
    readiness() {
      const status: Record<string, boolean> = {};
      for (const [name, p] of providers) status[name] = providerReady(p);
      return { ready: Object.values(status).every(Boolean), providers: status };
    },
    async close() {
      for (const p of providers.values()) closeProvider(p);
      for (const c of env.credentials) c.close?.();
      await Promise.allSettled([resources.close(), stores.primary.close(), stores.fallback.close()]);
    },
  };
}
