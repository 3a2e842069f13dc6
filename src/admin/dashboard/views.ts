/** What the dashboard shows of one process's runtime: its routes, its providers, and explain's answer for a described request. */
import type { IncomingHttpHeaders } from 'node:http';
import type { Runtime } from '../../pipeline/runtime.js';
import { explainRequest, summarizeExplanation } from '../../pipeline/explain.js';

/** A request for the policy simulator: described, never sent. */
export interface SimulateRequest {
  method: string;
  path: string;
  host?: string | undefined;
  /** A bearer token (or API key, with `header`) to authenticate with. */
  token?: string | undefined;
  /** The header carrying `token`; default `authorization` (as `Bearer <token>`). */
  header?: string | undefined;
  /** Claims for a development-issuer token minted for this simulation (needs `dev`). */
  claims?: Record<string, unknown> | undefined;
}

/** Why a simulation could not run (the request, not the policy): answered with 400. */
export class SimulateError extends Error {}

/** Every configured route: its match, authentication, rules and upstream, as loaded. */
export function routesView(runtime: Runtime): unknown[] {
  return runtime.config.routes.map((r, i) => {
    const compiled = runtime.routes[i];
    return {
      name: r.name,
      match: { path: r.match.path, host: r.match.host ?? null, methods: r.match.methods ?? null },
      public: r.public === true,
      authenticate: r.authenticate ?? [],
      allow: r.allow ?? null,
      deny: r.deny ?? [],
      limits: (r.limits ?? []).map((l) => l.name),
      upstream: compiled ? { kind: compiled.upstream.kind, label: compiled.upstream.label, targets: compiled.upstream.targets?.() ?? null } : null,
    };
  });
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/** Every provider: its type, readiness and, for JWT issuers, the keys held and the last JWKS fetch. */
export function providersView(runtime: Runtime): unknown[] {
  return [...runtime.providers].map(([name, p]) => {
    const type = name === 'dev' && runtime.devIssuer ? 'dev' : runtime.config.providers?.[name]?.type ?? 'unknown';
    if (p.kind !== 'jwt') return { name, type, ready: p.authenticator.ready };
    const h = p.jwt.health();
    return {
      name, type, issuer: p.jwt.issuer, ready: h.ready, keyCount: h.keyCount, keyIds: h.keyIds ?? [],
      lastFetch: iso(h.lastFetch), lastAttempt: iso(h.lastAttempt), lastError: h.lastError ?? null,
    };
  });
}

const METHOD = /^[A-Z]{1,16}$/;
const HEADER = /^[a-z0-9-]{1,64}$/;

/** Check a simulator request's shape (it comes from a browser form). */
export function parseSimulateRequest(body: unknown): SimulateRequest {
  if (typeof body !== 'object' || body === null) throw new SimulateError('the request must be a JSON object');
  const b = body as Record<string, unknown>;
  const str = (k: string, max: number): string | undefined => {
    const v = b[k];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string' || v.length > max) throw new SimulateError(`${k} must be a string of at most ${max} characters`);
    return v;
  };
  const method = (str('method', 16) ?? 'GET').toUpperCase();
  if (!METHOD.test(method)) throw new SimulateError('method must be an HTTP method name');
  const path = str('path', 4096);
  if (path === undefined || !path.startsWith('/')) throw new SimulateError('path must start with /');
  const header = str('header', 64)?.toLowerCase();
  if (header !== undefined && !HEADER.test(header)) throw new SimulateError('header must be a header name');
  const claims = b.claims;
  if (claims !== undefined && claims !== null && (typeof claims !== 'object' || Array.isArray(claims))) throw new SimulateError('claims must be a JSON object');
  return { method, path, host: str('host', 255), token: str('token', 16_384), header, claims: (claims ?? undefined) as Record<string, unknown> | undefined };
}

/** A development-issuer token carrying `claims` (the simulator's "claims" input). */
async function devToken(runtime: Runtime, claims: Record<string, unknown>): Promise<string> {
  if (!runtime.devIssuer) throw new SimulateError('claims need the development issuer (dev: true); give a token instead');
  const { sub, roles, groups, scope, ...extra } = claims;
  if (typeof sub !== 'string' || sub === '') throw new SimulateError('claims need a string "sub"');
  const list = (v: unknown, k: string): string[] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new SimulateError(`claims.${k} must be a list of strings`);
    return v as string[];
  };
  if (scope !== undefined && typeof scope !== 'string') throw new SimulateError('claims.scope must be a string');
  return runtime.devIssuer.sign({ sub, roles: list(roles, 'roles'), groups: list(groups, 'groups'), scope, extra });
}

/** The explain result for a described request: the gateway's own routing, authentication and authorization. */
export async function simulate(runtime: Runtime, req: SimulateRequest): Promise<unknown> {
  const headers: IncomingHttpHeaders = { host: req.host ?? 'localhost' };
  const token = req.claims !== undefined ? await devToken(runtime, req.claims) : req.token;
  if (token !== undefined) {
    const header = req.header ?? 'authorization';
    headers[header] = header === 'authorization' ? `Bearer ${token}` : token;
  }
  const result = summarizeExplanation(await explainRequest(runtime, req.method, req.path, headers));
  // Plain JSON (it may cross to a cluster primary).
  return JSON.parse(JSON.stringify({ request: { method: req.method, path: req.path, host: headers.host, minted: req.claims !== undefined }, ...result })) as unknown;
}
