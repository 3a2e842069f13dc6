import type { IncomingHttpHeaders } from 'node:http';
import type { CompiledRoute, Runtime } from './compile.js';
import type { ErrorCode } from './errors.js';
import type { Identity } from './identity/identity.js';
import type { Decision } from './authz/evaluate.js';
import { PUBLIC_DECISION } from './authz/evaluate.js';
import { parseTarget } from './routing/normalize.js';
import { normalizeHost } from './routing/table.js';
import type { RequestRecord } from './observe/events.js';

/** What the pipeline needs of a request to decide (the same for live traffic and `explain`). */
export interface DecideInput {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

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

const SKIPPED: RequestRecord['authn'] = { result: 'skipped' };
const PUBLIC: RequestRecord['authn'] = { result: 'public' };

/** Route match → authenticate → authorize. Pure with respect to the network except key fetches. */
export async function decide(runtime: Runtime, input: DecideInput): Promise<Verdict> {
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

  const authnInput = { headers: input.headers, query };
  for (const authenticator of route.authenticators) {
    const outcome = await authenticator.authenticate(authnInput);
    if (outcome === undefined) continue;
    if (!outcome.ok) {
      const { code, detail } = outcome.refusal;
      const authn: RequestRecord['authn'] = { result: 'refused', reason: code, ...(outcome.provider ? { provider: outcome.provider } : {}) };
      return { kind: 'refuse', code, ...(detail ? { detail } : {}), bearer: true, path, query, route, authn };
    }
    const identity = outcome.identity;
    const authn: RequestRecord['authn'] = { result: 'ok', provider: identity.provider };
    const decision = route.policy!.evaluate(identity);
    if (decision.allow) return { kind: 'forward', route, identity, decision, path, query, authn };
    return { kind: 'refuse', code: decision.reason, detail: decision.detail, bearer: true, path, query, route, identity, authn, decision };
  }
  return {
    kind: 'refuse', code: 'token_missing', detail: 'send a bearer token in the Authorization header', bearer: true, path, query, route,
    authn: { result: 'refused', reason: 'token_missing' },
  };
}
