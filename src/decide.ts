import type { IncomingHttpHeaders } from 'node:http';
import type { CompiledRoute, Runtime } from './compile.js';
import { GatehouseError, type ErrorCode } from './errors.js';
import type { Identity } from './identity/identity.js';
import type { Decision } from './authz/evaluate.js';
import { PUBLIC_DECISION } from './authz/evaluate.js';
import { parseTarget } from './routing/normalize.js';
import { normalizeHost } from './routing/table.js';
import type { RequestRecord } from './observe/events.js';
import type { Authenticator, AuthnOutcome, AuthnRequest, ClientTls } from './authn/authenticator.js';

/** What the pipeline needs of a request to decide (the same for live traffic and `explain`). */
export interface DecideInput {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders?: readonly string[] | undefined;
  readonly tls?: ClientTls | undefined;
  /** Reads the body (bounded); explain passes none (an empty body). */
  readonly body?: (limit: number) => Promise<Buffer>;
}

const EMPTY_BODY = (): Promise<Buffer> => Promise.resolve(Buffer.alloc(0));

interface Common {
  /** Normalized path ('' when the target could not be parsed). */
  readonly path: string;
  readonly query: string;
  readonly route?: CompiledRoute;
  readonly identity?: Identity;
  readonly authn: RequestRecord['authn'];
  readonly decision?: Decision;
}

/** The pipeline's verdict before forwarding: forward to the route's upstream, or refuse with a code. */
export type Verdict =
  | (Common & { readonly kind: 'forward'; readonly route: CompiledRoute; readonly decision: Decision })
  | (Common & { readonly kind: 'refuse'; readonly code: ErrorCode; readonly detail?: string; readonly bearer: boolean; readonly headers?: Record<string, string> });

const SKIPPED: RequestRecord['authn'] = Object.freeze({ result: 'skipped' });
const PUBLIC: RequestRecord['authn'] = Object.freeze({ result: 'public' });

// One frozen success outcome per provider: the audit line serializes it once, not per request.
const AUTHN_OK = new Map<string, RequestRecord['authn']>();
function authnOk(provider: string): RequestRecord['authn'] {
  let authn = AUTHN_OK.get(provider);
  if (authn === undefined) AUTHN_OK.set(provider, (authn = Object.freeze({ result: 'ok', provider })));
  return authn;
}

/** The path part of the request target as sent (origin-form or absolute-form). */
function rawPathOf(url: string): string {
  let start = 0;
  if (url.charCodeAt(0) !== 0x2f) {
    const scheme = url.indexOf('://');
    start = scheme === -1 ? 0 : url.indexOf('/', scheme + 3);
    if (start === -1) return '/';
  }
  const q = url.indexOf('?', start);
  return q === -1 ? url.slice(start) : url.slice(start, q);
}

/**
 * Route match → authenticate → authorize. Pure with respect to the network except key fetches.
 * Synchronous whenever every authenticator answers synchronously (a token served from the cache,
 * an API key): then no promise is created. A promise comes back only when one must wait.
 */
export function decide(runtime: Runtime, input: DecideInput): Verdict | Promise<Verdict> {
  const target = parseTarget(input.url);
  if (!target.ok) return { kind: 'refuse', code: target.code, detail: target.detail, bearer: false, path: '', query: '', authn: SKIPPED };
  const { path, query } = target;
  const host = target.absoluteHost ?? normalizeHost(input.headers.host);
  const match = runtime.table.match(host, input.method, path);
  if (match.kind === 'not_found') return { kind: 'refuse', code: 'route_not_found', bearer: false, path, query, authn: SKIPPED };
  if (match.kind === 'method_not_allowed') {
    return { kind: 'refuse', code: 'method_not_allowed', bearer: false, headers: { allow: match.allow.join(', ') }, path, query, authn: SKIPPED };
  }
  const route = match.route.value;
  if (target.hasEncodedSeparator && !route.allowEncodedSlash) {
    return { kind: 'refuse', code: 'path_encoded_separator', detail: 'this route does not accept %2F or %5C inside a path segment', bearer: false, path, query, route, authn: SKIPPED };
  }
  if (route.public) return { kind: 'forward', route, decision: PUBLIC_DECISION, path, query, authn: PUBLIC };

  const readBody = input.body;
  // Built with every field in place (no conditional spreads): one object per request.
  const authnInput: AuthnRequest = {
    method: input.method, path, rawPath: rawPathOf(input.url), query, headers: input.headers, rawHeaders: input.rawHeaders, tls: input.tls,
    body: readBody ? () => readBody(route.maxBodyBytes) : EMPTY_BODY,
  };
  return authenticateFrom(0, { route, path, query, input: authnInput });
}

interface Authenticating { readonly route: CompiledRoute; readonly path: string; readonly query: string; readonly input: AuthnRequest }

/** Try the route's authenticators from index `i` on; the first that answers decides. */
function authenticateFrom(i: number, a: Authenticating): Verdict | Promise<Verdict> {
  const { route, path, query } = a;
  for (; i < route.authenticators.length; i++) {
    let outcome: ReturnType<Authenticator['authenticate']>;
    try {
      outcome = route.authenticators[i]!.authenticate(a.input);
    } catch (err) {
      return cannotDecide(err, a);
    }
    if (outcome instanceof Promise) {
      const next = i + 1;
      return outcome.then((o) => (o === undefined ? authenticateFrom(next, a) : conclude(o, a)), (err: unknown) => cannotDecide(err, a));
    }
    if (outcome !== undefined) return conclude(outcome, a);
  }
  return {
    kind: 'refuse', code: 'token_missing', detail: route.missingCredential, bearer: route.bearer, path, query, route,
    authn: { result: 'refused', reason: 'token_missing' },
  };
}

/** A stage that cannot decide refuses (fail closed); a coded error keeps its code. */
function cannotDecide(err: unknown, { route, path, query }: Authenticating): Verdict {
  const code: ErrorCode = err instanceof GatehouseError ? err.code : 'internal_error';
  return { kind: 'refuse', code, bearer: false, path, query, route, authn: { result: 'refused', reason: code } };
}

/** Authorize an authenticated caller, or render an authenticator's refusal. */
function conclude(outcome: AuthnOutcome, { route, path, query }: Authenticating): Verdict {
  if (!outcome.ok) {
    const { code, detail } = outcome.refusal;
    const authn: RequestRecord['authn'] = { result: 'refused', reason: code, ...(outcome.provider ? { provider: outcome.provider } : {}) };
    return { kind: 'refuse', code, ...(detail ? { detail } : {}), bearer: route.bearer, path, query, route, authn };
  }
  const identity = outcome.identity;
  const authn = authnOk(identity.provider);
  const decision = route.policy!.evaluate(identity);
  if (decision.allow) return { kind: 'forward', route, identity, decision, path, query, authn };
  return { kind: 'refuse', code: decision.reason, detail: decision.detail, bearer: route.bearer, path, query, route, identity, authn, decision };
}
