/**
 * The outbound stages: they turn the inbound request into the one the upstream gets. Header
 * hygiene and identity headers first, then the upstream's request line and Host, then what speaks
 * for the caller (the signed assertion; upstream credentials later), each seeing the final request.
 */
import type { Upstream } from '../upstream/upstream.js';
import type { Stage } from '../pipeline/stage.js';
import type { AssertionSigner } from './assertion.js';
import { buildUpstreamHeaders, DEFAULT_ASSERTION_HEADER, identityHeaders, type HeaderPolicy } from './headers.js';

/** Build `ctx.outbound`: hygienic headers, forwarding and identity headers, trace context, the request line. */
export function outboundRequestStage(upstream: Upstream, policy: HeaderPolicy): Stage {
  return {
    name: 'outbound',
    run(ctx) {
      const headers = buildUpstreamHeaders(ctx, policy);
      headers.traceparent = ctx.traceparent;
      // With tracing on, only a trusted caller's tracestate goes on (null: none); off, the client's passes as any header.
      if (typeof ctx.tracestate === 'string') headers.tracestate = ctx.tracestate;
      else if (ctx.tracestate === null && headers.tracestate !== undefined) delete headers.tracestate;
      headers['x-request-id'] = ctx.requestId;
      const out = (ctx.outbound = upstream.prepare(ctx, headers));
      ctx.record.upstream = upstream.label;
      const q = out.path.indexOf('?');
      ctx.record.upstreamPath = q === -1 ? out.path : out.path.slice(0, q);
      return undefined;
    },
  };
}

/**
 * The outbound stage of a forward-auth decision (pipeline/forward-auth.ts): the request the proxy
 * will send, carrying only the identity headers, for the assertion step to add to. Nothing of the
 * client's request is copied: the answer goes back to the proxy, which copies what it is told to.
 */
export function decisionHeadersStage(policy: HeaderPolicy): Stage {
  // Every name the route speaks through is in the answer, empty when there is nothing to say: a proxy
  // that copies it then replaces a client's header of that name rather than passing it on (and Caddy
  // 2.6 would otherwise copy its own unreplaced placeholder).
  const names = [...policy.identityHeaders.map(([name]) => name), policy.assertionHeader ?? DEFAULT_ASSERTION_HEADER];
  const blank: Readonly<Record<string, string>> = Object.freeze(Object.fromEntries(names.map((name) => [name, ''])));
  return {
    name: 'outbound',
    run(ctx) {
      const headers = { ...blank, ...identityHeaders(ctx.identity, policy) };
      ctx.outbound = { method: ctx.method, path: ctx.query === '' ? ctx.path : `${ctx.path}?${ctx.query}`, headers, body: undefined };
      return undefined;
    },
  };
}

/**
 * Add a signed identity assertion (a reused one without waiting; a new one is signed once for
 * concurrent callers) with aud = `audience` and iss = `issuer` (absent: the signer's).
 */
export function assertionStage(signer: AssertionSigner, header: string, audience: string, ttlSec: number, issuer?: string): Stage {
  return {
    name: 'outbound',
    run(ctx) {
      const identity = ctx.identity;
      if (identity === undefined) return undefined;
      const reused = signer.cached(identity, audience, ttlSec, issuer);
      if (reused !== undefined) {
        ctx.outbound!.headers[header] = reused;
        return undefined;
      }
      return signer.mint(identity, audience, ttlSec, issuer).then((token) => {
        ctx.outbound!.headers[header] = token;
        return undefined;
      });
    },
  };
}
