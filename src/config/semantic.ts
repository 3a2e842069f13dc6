import { BlockList, isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import type { ConfigIssue } from './issue.js';
import { asJson, schemasAt, unitOf } from './json-schema.js';
import { fromPointer, toPointer } from './pointer.js';
import { ConfigSchema, type Config, type RouteConfig } from './schema.js';
import { parseDuration, parseSize } from './units.js';
import { closest, type ShowValue } from './validate.js';
import { limitIssues } from '../limits/check.js';

/** Checks the schema cannot express: references between sections, uniqueness, URLs, addresses. */
export function semanticIssues(config: Config, show: ShowValue): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const providers = Object.keys(config.providers ?? {});
  const devEnabled = config.dev !== undefined && config.dev !== false;
  if (devEnabled && providers.includes('dev')) {
    issues.push({ path: '/providers/dev', message: 'the provider name "dev" is reserved for the development issuer while `dev` is enabled' });
  }
  const known = devEnabled ? [...providers, 'dev'] : providers;
  const seen = new Map<string, number>();
  config.routes.forEach((route, i) => {
    const previous = seen.get(route.name);
    if (previous === undefined) seen.set(route.name, i);
    else issues.push({ path: `/routes/${i}/name`, message: `duplicate route name ${show(`/routes/${i}/name`, route.name, true)} (also used by routes[${previous}])` });
    issues.push(...routeIssues(route, `/routes/${i}`, known, show));
  });
  if (config.audit?.sink === 'file' && config.audit.path === undefined) {
    issues.push({ path: '/audit/path', message: 'missing required key "path": required when `sink: file`' });
  }
  (config.listen?.trustedProxies ?? []).forEach((entry, i) => {
    const path = `/listen/trustedProxies/${i}`;
    if (!isAddressOrCidr(entry)) issues.push({ path, message: `expected an IP address or CIDR such as 10.0.0.0/8, got ${show(path, entry)}` });
  });
  for (const [name, provider] of Object.entries(config.providers ?? {})) {
    if (provider.type !== 'oidc') continue;
    const path = `/providers/${toPointer([name]).slice(1)}`;
    if (!isUrl(provider.issuer)) issues.push({ path: `${path}/issuer`, message: `expected a URL, got ${show(`${path}/issuer`, provider.issuer)}` });
    if (provider.jwksUri !== undefined && !isUrl(provider.jwksUri)) {
      issues.push({ path: `${path}/jwksUri`, message: `expected a URL, got ${show(`${path}/jwksUri`, provider.jwksUri)}` });
    }
  }
  issues.push(...tlsIssues(config));
  return [...issues, ...limitIssues(config), ...unitIssues(config, show)];
}

function routeIssues(route: RouteConfig, path: string, known: readonly string[], show: ShowValue): ConfigIssue[] {
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
  (route.authenticate ?? []).forEach((name, k) => {
    if (known.includes(name)) return;
    const guess = closest(name, known);
    const list = known.length > 0 ? `known providers: ${known.join(', ')}` : 'no providers are configured';
    issues.push({ path: `${path}/authenticate/${k}`, message: `unknown provider "${name}"${guess ? `; did you mean "${guess}"?` : ''} (${list})` });
  });
  if (!isUrl(route.upstream.url)) {
    issues.push({ path: `${path}/upstream/url`, message: `expected a URL such as http://app:8080, got ${show(`${path}/upstream/url`, route.upstream.url)}` });
  }
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
function unitIssues(config: Config, show: ShowValue): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const visit = (value: unknown, path: string): void => {
    if (Array.isArray(value)) value.forEach((item, i) => visit(item, `${path}/${i}`));
    else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) visit(v, `${path}${toPointer([k])}`);
    else if (typeof value === 'string') {
      const unit = schemasAt(asJson(ConfigSchema), fromPointer(path)).map(unitOf).find((u) => u !== undefined);
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

/** Client-certificate settings that can never work. */
function tlsIssues(config: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const tls = config.listen?.tls;
  if (tls && tls.clientAuth !== undefined && tls.clientAuth !== 'none' && tls.clientCa === undefined) {
    issues.push({ path: '/listen/tls/clientCa', message: `missing required key "clientCa": \`clientAuth: ${tls.clientAuth}\` needs a CA bundle to verify client certificates` });
  }
  const mtls = Object.entries(config.providers ?? {}).filter(([, p]) => p.type === 'mtls').map(([n]) => n);
  const seesCerts = tls !== undefined && tls.clientCa !== undefined && tls.clientAuth !== 'none';
  config.routes.forEach((route, i) => {
    const used = (route.authenticate ?? []).filter((n) => mtls.includes(n));
    if (used.length > 0 && !seesCerts) {
      issues.push({ path: `/routes/${i}/authenticate`, message: `route "${route.name}" uses mTLS provider "${used[0]}" but the listener requests no client certificates: set listen.tls.clientCa (and clientAuth: optional or required)` });
    }
  });
  return issues;
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
