/**
 * `explain`: route, authenticate and authorize a described request with the gateway's own stages,
 * without a client connection and without sending anything upstream.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { ERRORS, type Refusal } from '../errors.js';
import { routeRequest } from '../routing/stage.js';
import { RequestContext } from './context.js';
import type { Exchange } from './exchange.js';
import type { CompiledRoute, Runtime } from './runtime.js';
import { compose, type StageName } from './stage.js';

/** A request that exists only as a description: no body, and nothing is ever sent back. */
class DescribedRequest implements Exchange {
  readonly rawHeaders: readonly string[];
  readonly remoteAddress = '127.0.0.1';
  readonly encrypted = false;
  readonly tls = undefined;
  readonly requestComplete = true;
  readonly headersSent = false;
  readonly closed = false;
  constructor(readonly method: string, readonly url: string, readonly headers: IncomingHttpHeaders) {
    this.rawHeaders = Object.entries(headers).flatMap(([k, v]) => (Array.isArray(v) ? v.flatMap((x) => [k, x]) : v === undefined ? [] : [k, v]));
  }
  get body(): Readable { return Readable.from([]); }
  readBody(): Promise<Buffer> { return Promise.resolve(Buffer.alloc(0)); }
  discardBody(): void {}
  send(_status: number, _headers: OutgoingHttpHeaders, _body: string): number { return 0; }
  writeHead(): void { throw new Error('explain sends no response'); }
  write(): boolean { return true; }
  end(): void {}
  destroy(): void {}
  onDrain(): void {}
  offDrain(): void {}
  onClose(): void {}
  offClose(): void {}
}

/** The stages explain runs: the decision, not its consequences. */
const DECIDING: ReadonlySet<StageName> = new Set(['authenticate', 'authorize']);

export interface Explanation {
  readonly ctx: RequestContext;
  readonly route: CompiledRoute | undefined;
  /** Why the request would be refused; undefined when it would be forwarded. */
  readonly refusal: Refusal | undefined;
}

/** Decide a described request as the gateway would. */
export async function explainRequest(runtime: Runtime, method: string, url: string, headers: IncomingHttpHeaders): Promise<Explanation> {
  const ctx = new RequestContext(new DescribedRequest(method, url, headers), runtime.trusted);
  const routed = routeRequest(runtime.table, ctx);
  const route = ctx.route as CompiledRoute | undefined;
  if ('code' in routed) return { ctx, route, refusal: routed as Refusal };
  const refusal = await compose(routed.stages.filter((s) => DECIDING.has(s.name)))(ctx);
  return { ctx, route, refusal };
}

/** What explain reports, as data: the CLI prints it (or its JSON), the dashboard's simulator shows it. */
export function summarizeExplanation({ ctx, route, refusal }: Explanation) {
  const id = ctx.identity;
  const decision = ctx.record.decision;
  return {
    path: ctx.path,
    route: route ? { name: route.name, upstream: route.upstream.label, public: route.public } : null,
    authn: ctx.record.authn,
    identity: id ? { provider: id.provider, issuer: id.issuer, subject: id.subject, clientId: id.clientId, tenant: id.tenant, roles: id.roles, groups: id.groups, scopes: id.scopes, authMethod: id.authMethod } : null,
    rules: id && route?.policy ? route.policy.trace(id) : [],
    limits: route?.limiter ? route.limiter.describe({ identity: id, client: ctx.client }) : null,
    result: refusal === undefined
      ? { outcome: 'forward', status: null, rule: decision?.rule, reason: decision?.reason }
      : { outcome: 'refuse', status: ERRORS[refusal.code].status, code: refusal.code, detail: refusal.detail ?? ERRORS[refusal.code].title, rule: decision?.rule },
  };
}
