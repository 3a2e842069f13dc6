import { BlockList, isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import type { ConfigIssue } from './issue.js';
import { asJson, schemasAt, unitOf } from './json-schema.js';
import { fromPointer, toPointer } from './pointer.js';
import { ConfigSchema, type Config, type RouteConfig } from './schema.js';
import { parseDuration, parseSize } from './units.js';
import { closest, type ShowValue } from './validate.js';
import { at, indices, keysOf, runChecks, Soundness, type Check } from './checks.js';
import { presetIssues } from './preset-check.js';
import { loginIssues, sessionReferenceIssues } from '../authn/session/check.js';
import { limitChecks } from '../limits/check.js';
import { dashboardIssues } from '../admin/dashboard/check.js';
import { upstreamIssues } from '../upstream/registry.js';
import { websocketIssues } from '../upstream/websocket/check.js';
import { oauth2RouteIssues } from '../outbound/credentials/oauth2/check.js';
import { sigv4RouteIssues } from '../outbound/credentials/sigv4/check.js';
import { parseHostPattern, parsePathPattern } from '../routing/pattern.js';

/** How checks show values: `show` renders one (masking references), `mask` hides referenced text inside a foreign message. */
export interface Presenter {
  readonly show: ShowValue;
  /** Replace in `text` any text that a reference at or below `pointer` put into the document. */
  readonly mask: (pointer: string, text: string) => string;
}

/** Presents plain values only: for documents without references. */
const PLAIN_MASK = (_pointer: string, text: string): string => text;

/**
 * Checks the schema cannot express: references between sections, uniqueness, URLs, addresses, route
 * patterns, preset rules, limits. They run also when the schema found problems, on the parts it
 * accepted (see checks.ts), so that one run shows every problem.
 */
export function semanticIssues(config: Config, presenter: Presenter | ShowValue, soundness = new Soundness([])): ConfigIssue[] {
  const p: Presenter = typeof presenter === 'function' ? { show: presenter, mask: PLAIN_MASK } : presenter;
  return [...runChecks(config, soundness, semanticChecks(config, p, soundness)), ...unitIssues(config, p.show, soundness)];
}


function semanticChecks(raw: Config, p: Presenter, soundness: Soundness): Check<Config>[] {
  const { show } = p;
  const checks: Check<Config>[] = [];
  const devEnabled = (c: Config): boolean => c.dev !== undefined && c.dev !== false;
  checks.push((c) => (devEnabled(c) && keysOf(c.providers).includes('dev')
    ? [{ path: '/providers/dev', message: 'the provider name "dev" is reserved for the development issuer while `dev` is enabled' }]
    : []));
  // Provider names count as known even when a provider has errors of its own (no "unknown provider" cascade).
  const providerNames = keysOf(at(raw, 'providers'));
  // `session:<name>` of any provider counts as known here; sessionReferenceIssues says when it has no login block.
  const sessions = providerNames.map((n) => `session:${n}`);
  const known = (c: Config): string[] => {
    void c.providers;
    return devEnabled(c) ? [...providerNames, ...sessions, 'dev'] : [...providerNames, ...sessions];
  };
  for (const name of providerNames) checks.push((c) => loginIssues(c, name));
  // Route names: the first route of each (sound) name, found once.
  const firstByName = new Map<string, number>();
  for (const i of indices(at(raw, 'routes'))) {
    const name = at(raw, 'routes', String(i), 'name');
    if (typeof name === 'string' && soundness.sound(`/routes/${i}/name`) && !firstByName.has(name)) firstByName.set(name, i);
  }
  for (const i of indices(at(raw, 'routes'))) {
    const path = `/routes/${i}`;
    checks.push((c) => {
      const name = c.routes[i]!.name;
      const first = firstByName.get(name);
      return first !== undefined && first < i
        ? [{ path: `${path}/name`, message: `duplicate route name ${show(`${path}/name`, name, true)} (also used by routes[${first}])` }]
        : [];
    });
    checks.push((c) => accessIssues(c.routes[i]!, path));
    checks.push((c) => providerIssues(c.routes[i]!, path, known(c)));
    checks.push((c) => sessionReferenceIssues(c.routes[i]!, path, c));
    checks.push((c) => upstreamIssues(c.routes[i]!.upstream, `${path}/upstream`, show));
    checks.push((c) => websocketIssues(c.routes[i]!, path));
    checks.push((c) => oauth2RouteIssues(c.routes[i]!, path));
    checks.push((c) => sigv4RouteIssues(c.routes[i]!, path));
    checks.push((c) => patternIssues(c.routes[i]!, path, p));
  }
  checks.push((c) => (c.audit?.sink === 'file' && c.audit.path === undefined
    ? [{ path: '/audit/path', message: 'missing required key "path": required when `sink: file`' }]
    : []));
  checks.push((c) => (c.audit?.integrity !== undefined && c.audit.sink !== 'file'
    ? [{ path: '/audit/integrity', message: 'a tamper-evident audit trail is a file: set `sink: file` and `path`, or remove `integrity`' }]
    : []));
  for (const [section, list] of [['listen', (c: Config) => c.listen!.trustedProxies], ['forwardAuth', (c: Config) => c.forwardAuth!.trustedProxies!]] as const) {
    for (const k of indices(at(raw, section, 'trustedProxies'))) {
      const path = `/${section}/trustedProxies/${k}`;
      checks.push((c) => {
        const entry = list(c)[k]!;
        return isAddressOrCidr(entry) ? [] : [{ path, message: `expected an IP address or CIDR such as 10.0.0.0/8, got ${show(path, entry)}` }];
      });
    }
  }
  for (const name of providerNames) {
    const path = `/providers/${toPointer([name]).slice(1)}`;
    const provider = (c: Config) => c.providers![name]!;
    checks.push((c) => {
      const pr = provider(c);
      return pr.type === 'oidc' && !isUrl(pr.issuer) ? [{ path: `${path}/issuer`, message: `expected a URL, got ${show(`${path}/issuer`, pr.issuer)}` }] : [];
    });
    checks.push((c) => {
      const pr = provider(c);
      return pr.type === 'oidc' && pr.jwksUri !== undefined && !isUrl(pr.jwksUri)
        ? [{ path: `${path}/jwksUri`, message: `expected a URL, got ${show(`${path}/jwksUri`, pr.jwksUri)}` }]
        : [];
    });
    checks.push((c) => {
      const pr = provider(c);
      return pr.type === 'oidc' ? presetIssues(name, pr, path, (text) => p.mask(path, text)) : [];
    });
    checks.push((c) => {
      const pr = provider(c);
      return pr.type === 'introspection' && pr.endpoint === undefined && pr.issuer === undefined
        ? [{ path: `${path}/endpoint`, message: 'missing required key "endpoint": set `endpoint`, or `issuer` to find it by discovery' }]
        : [];
    });
  }
  checks.push(clientAuthIssues);
  checks.push(dashboardIssues);
  for (const i of indices(at(raw, 'routes'))) checks.push((c) => mtlsIssues(c, i));
  checks.push(...limitChecks(raw, soundness));
  return checks;
}

function accessIssues(route: RouteConfig, path: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const label = JSON.stringify(route.name);
  if (route.public === true) {
    if (route.authenticate) issues.push({ path: `${path}/authenticate`, message: `route ${label} is public: remove \`authenticate\` or \`public: true\`` });
    for (const key of ['allow', 'deny'] as const) {
      if (route[key]) issues.push({ path: `${path}/${key}`, message: `route ${label} is public: \`${key}\` rules need an authenticated caller; remove them or add \`authenticate\`` });
    }
  } else if (!route.authenticate) {
    issues.push({ path, message: `route ${label} has no authentication: add \`authenticate: [...]\` or \`public: true\`` });
  }
  return issues;
}

function providerIssues(route: RouteConfig, path: string, known: readonly string[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  (route.authenticate ?? []).forEach((name, k) => {
    if (known.includes(name)) return;
    const guess = closest(name, known);
    const list = known.length > 0 ? `known providers: ${known.join(', ')}` : 'no providers are configured';
    issues.push({ path: `${path}/authenticate/${k}`, message: `unknown provider "${name}"${guess ? `; did you mean "${guess}"?` : ''} (${list})` });
  });
  return issues;
}

/** The route table's own parsers decide; their messages, placed at the pattern (values from references masked). */
function patternIssues(route: RouteConfig, path: string, p: Presenter): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const prefix = `route "${route.name}": `;
  const tryParse = (pointer: string, parse: () => unknown): void => {
    try {
      parse();
    } catch (err) {
      const message = (err as Error).message;
      issues.push({ path: pointer, message: p.mask(pointer, message.startsWith(prefix) ? message.slice(prefix.length) : message) });
    }
  };
  let names: string[] | undefined;
  tryParse(`${path}/match/path`, () => {
    names = parsePathPattern(route.name, route.match.path).segments.flatMap((s) => (s.kind === 'param' ? [s.name] : []));
  });
  const destination = (route.upstream as { destination?: unknown }).destination;
  if (names !== undefined && destination !== null && typeof destination === 'object' && 'param' in destination) {
    const param = String(destination.param);
    if (!names.includes(param)) {
      const known = names.length > 0 ? `its parameters: ${names.map((n) => `:${n}`).join(', ')}` : 'it has no parameters';
      issues.push({ path: `${path}/upstream/destination/param`, message: `the path pattern has no :${param} (${known}); name one of them, or add :${param} to match.path` });
    }
  }
  if (route.match.host !== undefined) tryParse(`${path}/match/host`, () => parseHostPattern(route.name, route.match.host));
  return issues;
}

function isUrl(text: string): boolean {
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}

function isAddressOrCidr(text: string): boolean {
  const [address = '', prefix, extra] = text.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  if (!/^[0-9]{1,3}$/.test(prefix)) return false;
  try {
    new BlockList().addSubnet(address, Number(prefix), family === 4 ? 'ipv4' : 'ipv6');
    return true;
  } catch {
    return false;
  }
}

/** The schema's patterns already admit only parseable units; parse anyway so the parsers and schema cannot drift. */
function unitIssues(config: Config, show: ShowValue, soundness: Soundness): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const visit = (value: unknown, path: string): void => {
    if (!soundness.sound(path)) return;
    if (Array.isArray(value)) value.forEach((item, i) => visit(item, `${path}/${i}`));
    else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) visit(v, `${path}${toPointer([k])}`);
    else if (typeof value === 'string') {
      const schemas = schemasAt(asJson(ConfigSchema), fromPointer(path));
      // A keyword beside a unit (`heap.headroom: off`) is not a malformed unit.
      if (schemas.some((s) => s.const === value)) return;
      const unit = schemas.map(unitOf).find((u) => u !== undefined);
      try {
        if (unit === 'duration') parseDuration(value);
        if (unit === 'size') parseSize(value);
      } catch {
        issues.push({ path, message: `expected a ${unit}, got ${show(path, value)}` });
      }
    }
  };
  visit(config, '');
  return issues;
}

/** `clientAuth` that needs a CA bundle. */
function clientAuthIssues(config: Config): ConfigIssue[] {
  const tls = config.listen?.tls;
  if (tls && tls.clientAuth !== undefined && tls.clientAuth !== 'none' && tls.clientCa === undefined) {
    return [{ path: '/listen/tls/clientCa', message: `missing required key "clientCa": \`clientAuth: ${tls.clientAuth}\` needs a CA bundle to verify client certificates` }];
  }
  return [];
}

/** A route using an mTLS provider on a listener that asks for no client certificates. */
function mtlsIssues(config: Config, i: number): ConfigIssue[] {
  const route = config.routes[i]!;
  const used = (route.authenticate ?? []).filter((n) => config.providers?.[n]?.type === 'mtls');
  if (used.length === 0) return [];
  const tls = config.listen?.tls;
  const seesCerts = tls !== undefined && tls.clientCa !== undefined && tls.clientAuth !== 'none';
  return seesCerts ? [] : [{ path: `/routes/${i}/authenticate`, message: `route "${route.name}" uses mTLS provider "${used[0]}" but the listener requests no client certificates: set listen.tls.clientCa (and clientAuth: optional or required)` }];
}

/** How many processes serve the public port: `workers`, with `auto` = one per available CPU. */
export function workerCount(config: Config): number {
  const workers = config.workers ?? 1;
  return workers === 'auto' ? availableParallelism() : workers;
}

/** With several workers, in-process limit state and concurrency caps count per worker, not per gateway. */
export function workerWarnings(config: Config): string[] {
  const n = workerCount(config);
  if (n <= 1) return [];
  const warnings: string[] = [];
  const limited = config.routes.some((r) => (r.limits?.length ?? 0) > 0 || (r.plan === true && config.plans !== undefined));
  if (limited && config.limits?.store !== 'redis') {
    warnings.push(`workers: ${n} with limits.store: memory: each worker keeps its own rate-limit and quota budgets, so callers can get up to ${n}× the configured limits; use limits.store: redis for fleet-exact limits`);
  }
  if (config.routes.some((r) => r.concurrency !== undefined || r.upstream.maxInFlight !== undefined)) {
    warnings.push(`workers: ${n}: concurrency caps (routes[].concurrency, upstream.maxInFlight) apply per worker, so up to ${n}× the configured requests can be in flight`);
  }
  return warnings;
}
