/**
 * A route compiled into its stage list, once, at load: authenticate → authorize → limit →
 * outbound → upstream, leaving out what the route does not use. Parts with the same configuration
 * are built once and shared by every route that has it (10,000 routes → a few objects).
 */
import type { Config, RouteConfig } from '../config/schema.js';
import { parseDuration, parseSize } from '../config/units.js';
import { compileAuthentication } from '../authn/route.js';
import type { Provider } from '../authn/registry.js';
import { compilePolicy, type Policy } from '../authz/evaluate.js';
import { authorizationStage, PUBLIC_STAGE } from '../authz/stage.js';
import { compileLimit } from '../limits/compile.js';
import { InFlight } from '../limits/concurrency.js';
import type { PlanSet } from '../limits/plans.js';
import { RouteLimiter, type LimitStores } from '../limits/limiter.js';
import { limitStage } from '../limits/stage.js';
import type { AssertionSigner } from '../outbound/assertion.js';
import { compileHeaderPolicy, DEFAULT_ASSERTION_HEADER, speakingHeaders } from '../outbound/headers.js';
import { assertionStage, decisionHeadersStage, outboundRequestStage } from '../outbound/steps.js';
import { createUpstream, httpUpstreamOf, outboundConfigOf } from '../upstream/registry.js';
import { upstreamStage } from '../upstream/stage.js';
import { websocketUpstreamStage } from '../upstream/websocket/proxy.js';
import { compileWebSocket } from '../upstream/websocket/settings.js';
import { createCredential, credentialHeaders } from '../outbound/credentials/registry.js';
import type { OutboundCredential } from '../outbound/credentials/credential.js';
import type { Upstream, UpstreamResources } from '../upstream/upstream.js';
import type { RoutableRoute } from '../routing/stage.js';
import { compose, type Run, type Stage } from './stage.js';

/** A route ready to serve. */
export interface CompiledRoute extends RoutableRoute {
  readonly public: boolean;
  /** The route's stages in pipeline order, and their fold. */
  readonly stages: readonly Stage[];
  readonly run: Run;
  /**
   * A forward-auth decision (pipeline/forward-auth.ts): the same authentication, policy and limits,
   * then the identity headers and the assertion alone — no upstream credential, no upstream, no
   * concurrency cap (the gateway does not carry the request).
   */
  readonly decide: Run;
  readonly upstream: Upstream;
  /** For explain: the policy and the limits (undefined when the route has none). */
  readonly policy: Policy | undefined;
  readonly limiter: RouteLimiter | undefined;
}

/** What compiling a route draws on: the runtime's providers, shared parts and state. */
export interface RouteEnv {
  readonly config: Config;
  readonly providers: ReadonlyMap<string, Provider>;
  readonly signer: AssertionSigner;
  readonly resources: UpstreamResources;
  readonly stores: LimitStores;
  readonly plans: PlanSet | undefined;
  /** Parts built for an earlier route with the same configuration. */
  readonly memo: Map<string, unknown>;
  /** Directory of the config file. */
  readonly baseDir: string;
  /** The outbound credentials built so far (each once): the runtime starts and closes them. */
  readonly credentials: Set<OutboundCredential>;
  /** Every header name the gateway speaks for callers through, on any route: stripped on every route. */
  readonly reserved: readonly string[];
}

/** The object built for `key` by an earlier route, or a new one (immutable, stateless parts only). */
function memo<T>(env: RouteEnv, kind: string, key: unknown, build: () => T): T {
  const id = `${kind}\0${JSON.stringify(key)}`;
  let value = env.memo.get(id) as T | undefined;
  if (value === undefined) env.memo.set(id, (value = build()));
  return value;
}

function compileLimiter(route: RouteConfig, env: RouteEnv): RouteLimiter | undefined {
  const limits = (route.limits ?? []).map((l) => compileLimit(l, `route:${route.name}`, env.config.limits!.fail));
  const plans = route.plan === true ? env.plans : undefined;
  if (limits.length === 0 && plans === undefined) return undefined;
  return new RouteLimiter(limits, plans, env.stores, route.rateLimitHeaders === true);
}

function providersOf(route: RouteConfig, env: RouteEnv): Provider[] {
  return (route.authenticate ?? []).map((name) => {
    const p = env.providers.get(name);
    if (!p) throw new Error(`route "${route.name}": unknown provider "${name}"`);
    return p;
  });
}

const NO_CHALLENGE = (): undefined => undefined;

/** The header names stripped from every inbound request: what any route speaks through, and the operator's list. */
export function reservedHeaders(config: Config): string[] {
  const speaking = config.routes.flatMap((r) => {
    const out = outboundConfigOf(r.upstream);
    return [...speakingHeaders(out), ...(out.auth ?? []).flatMap(credentialHeaders)];
  });
  return [...new Set([...speaking, ...config.listen!.reservedHeaders].map((h) => h.toLowerCase()))];
}

/** Compile one route. */
export function compileRoute(route: RouteConfig, env: RouteEnv): CompiledRoute {
  const isPublic = route.public === true;
  const authn = isPublic ? undefined : memo(env, 'authn', [route.authenticate, route.token ?? null, route.loginRedirect ?? true], () => compileAuthentication(providersOf(route, env), route.token, route.loginRedirect !== false));
  const policy = isPublic ? undefined : memo(env, 'policy', [route.allow ?? null, route.deny ?? null], () => compilePolicy(route.allow, route.deny));
  const upstream = memo(env, 'upstream', route.upstream, () => createUpstream(route.upstream, env.resources));
  const up = outboundConfigOf(route.upstream);
  const credentialHeaders = authn?.credentialHeaders ?? [];
  const headerPolicy = memo(env, 'headers', [up, env.config.listen!.forwardedHeaders, credentialHeaders], () => compileHeaderPolicy(up, env.config.listen!.forwardedHeaders, credentialHeaders, env.reserved));
  const limiter = compileLimiter(route, env);
  const caps: InFlight[] = [...(route.concurrency !== undefined ? [new InFlight(route.concurrency)] : []), ...(upstream.cap ? [upstream.cap] : [])];

  const deciding: Stage[] = [];
  if (authn && policy) deciding.push(authn.stage, memo(env, 'authz', [route.allow ?? null, route.deny ?? null], () => authorizationStage(policy)));
  else deciding.push(PUBLIC_STAGE);
  const stages: Stage[] = [...deciding];
  if (limiter || caps.length > 0) stages.push(limitStage(limiter, caps));
  if (limiter) deciding.push(limitStage(limiter, []));
  stages.push(memo(env, 'outbound', [route.upstream, env.config.listen!.forwardedHeaders, credentialHeaders], () => outboundRequestStage(upstream, headerPolicy)));
  deciding.push(memo(env, 'decision-headers', [up, credentialHeaders], () => decisionHeadersStage(headerPolicy)));
  if (up.assertion !== undefined && up.assertion !== false) {
    const a = up.assertion === true ? undefined : up.assertion;
    const ttlSec = parseDuration(a?.ttl ?? '60s') / 1000;
    const assertion = assertionStage(env.signer, headerPolicy.assertionHeader ?? DEFAULT_ASSERTION_HEADER, a?.audience ?? route.name, ttlSec, a?.issuer);
    stages.push(assertion);
    deciding.push(assertion);
  }
  // Outbound credentials last before sending: each sees the final request.
  for (const auth of up.auth ?? []) {
    const credential = memo(env, 'credential', auth, () => createCredential(auth, { baseDir: env.baseDir, signer: env.signer }));
    env.credentials.add(credential);
    stages.push(credential);
  }
  const websocket = compileWebSocket(route.websocket);
  const http = httpUpstreamOf(route.upstream);
  if (websocket !== undefined && http === undefined) throw new Error(`route "${route.name}": \`websocket\` needs an HTTP upstream`);
  stages.push(websocket !== undefined && http !== undefined
    ? memo(env, 'websocket-stage', [route.upstream, websocket], () => websocketUpstreamStage(upstream, http, websocket))
    : memo(env, 'upstream-stage', route.upstream, () => upstreamStage(upstream)));

  return {
    name: route.name,
    public: isPublic,
    allowEncodedSlash: route.allowEncodedSlash === true,
    allowEncodedPercent: route.allowEncodedPercent === true,
    acceptsWebSocket: websocket !== undefined,
    maxBodyBytes: parseSize(route.maxBodySize ?? env.config.listen!.maxBodySize),
    challenge: authn?.challenge ?? NO_CHALLENGE,
    browser: authn?.login !== undefined,
    stages,
    run: compose(stages),
    decide: compose(deciding),
    upstream,
    policy,
    limiter,
  };
}
