/** The HTTP upstream: one origin behind a shared keep-alive pool, or several targets (resilient.ts); requests and responses stream through. */
import { performance } from 'node:perf_hooks';
import { isIP } from 'node:net';
import type { Static } from '@sinclair/typebox';
import type { Dispatcher } from 'undici';
import type { RequestContext, OutboundRequest } from '../../pipeline/context.js';
import type { StageResult } from '../../pipeline/stage.js';
import { InFlight } from '../../limits/concurrency.js';
import type { Upstream, UpstreamResources } from '../upstream.js';
import type { HttpUpstreamSchema } from './schema.js';
import type { ConfigIssue } from '../../config/issue.js';
import type { ShowValue } from '../../config/validate.js';
import { callTimeouts, UpstreamPools } from './pools.js';
import { BodyMeter } from './body-meter.js';
import { planBody, refuseUnread } from './body-plan.js';
import { ForwardCall, upstreamRequested } from './forward-call.js';
import { compileTarget, upstreamPath } from './target.js';
import { upstreamTlsIssues, upstreamTlsMaterial } from './tls.js';
import { compileTargets, isResilient, targetIssues } from './targets.js';
import { resilientSender } from './resilient.js';
import { grpcDeadline } from '../../pipeline/grpc.js';

type HttpUpstreamConfig = Static<typeof HttpUpstreamSchema>;

/** Methods whose empty buffered body is still sent as `content-length: 0`. */

/** SNI must be a DNS name: IP literals (and bracketed IPv6) get none, as Node does by default. */
function nameForSni(hostname: string): string | undefined {
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return isIP(bare) === 0 ? bare : undefined;
}

/** One cap per origin, shared by every route using it; the smallest configured maximum wins. */
function originCap(resources: UpstreamResources, origin: string, max: number | undefined): InFlight | undefined {
  if (max === undefined) return undefined;
  const caps = resources.get('http:caps', () => new Map<string, InFlight>());
  const cap = caps.get(origin);
  if (cap === undefined) caps.set(origin, new InFlight(max));
  else cap.lower(max);
  return caps.get(origin);
}

function wantsTrailers(te: string | string[] | undefined): boolean {
  return te !== undefined && String(te).split(',').some((t) => t.trim().toLowerCase() === 'trailers');
}

function label(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
}

/** The URL must parse (the schema only says it starts with http:// or https://); the TLS files must be sound. */
export function httpUpstreamIssues(cfg: HttpUpstreamConfig, path: string, show: ShowValue): ConfigIssue[] {
  try {
    new URL(cfg.url);
  } catch {
    return [{ path: `${path}/url`, message: `expected a URL such as http://app:8080, got ${show(`${path}/url`, cfg.url)}` }];
  }
  return [...targetIssues(cfg, path, show), ...upstreamTlsIssues(cfg, path, show)];
}

/** Build the pool and per-request constants for one upstream, at config load. */
export function createHttpUpstream(cfg: HttpUpstreamConfig, resources: UpstreamResources): Upstream {
  const target = compileTarget(cfg);
  const tls = target.url.protocol === 'https:';
  const servername = tls ? cfg.serverName ?? nameForSni(target.url.hostname) : undefined;
  // Routes to the same upstream share one pool (and one `connections` budget).
  const pools = resources.get('http:pools', () => new UpstreamPools(), (p) => p.close());
  const material = tls ? upstreamTlsMaterial(cfg) : undefined;
  const poolFor = (origin: string) => pools.get({
    origin, connections: cfg.connections, headersTimeoutMs: target.headersTimeoutMs, bodyTimeoutMs: target.bodyTimeoutMs,
    connectTimeoutMs: target.connectTimeoutMs, http2: cfg.http2, ...(material !== undefined ? { tls: material } : {}), ...(servername !== undefined ? { servername } : {}),
  });
  const host = target.url.host;
  const timeouts = callTimeouts({ headersTimeoutMs: target.headersTimeoutMs, bodyTimeoutMs: target.bodyTimeoutMs, http2: cfg.http2 });
  // Several targets (or a resilience setting): the balancing, retrying sender; otherwise the one pool below.
  const several = isResilient(cfg) ? compileTargets(cfg, resources, poolFor) : undefined;
  const pool = several === undefined ? poolFor(target.url.origin) : undefined;

  function send(ctx: RequestContext): Promise<StageResult> {
    const exchange = ctx.exchange;
    if (exchange.closed) return Promise.resolve(ForwardCall.CLIENT_ABORTED);
    const out = ctx.outbound!;
    const maxBodyBytes = ctx.route!.maxBodyBytes;
    let meter: BodyMeter | undefined;
    let body: Dispatcher.DispatchOptions['body'] = null;
    const deadlineAt = grpcDeadline(ctx.headers, ctx.start, out.headers);
    if (typeof deadlineAt === 'object') return Promise.resolve(refuseUnread(ctx, deadlineAt));
    const plan = planBody(ctx);
    if (typeof plan !== 'string') return Promise.resolve(plan);
    if (plan === 'buffered') body = out.body!;
    // The meter only calls back once piped, after `call` exists.
    else if (plan === 'stream') body = meter = new BodyMeter(maxBodyBytes, () => call.stop('body_too_large'));
    const call = new ForwardCall(ctx, meter, maxBodyBytes, out.body?.length ?? 0, undefined, deadlineAt, timeouts);
    const opts: Dispatcher.DispatchOptions & { servername?: string } = {
      path: out.path, method: out.method as Dispatcher.HttpMethod, headers: out.headers, body,
      // Without this undici would derive SNI (and the certificate check) from the Host header.
      ...(servername !== undefined ? { servername } : {}),
    };
    // pipe (not pipeline): if undici destroys the meter, the client's body is only unpiped, so the
    // client connection survives for the error response.
    if (meter) exchange.body.pipe(meter);
    if (upstreamRequested.hasSubscribers) upstreamRequested.publish({ ctx, origin: target.url.origin, path: out.path });
    pool!.dispatch(opts, call);
    return call.done;
  }

  return {
    kind: 'http',
    label: label(target.url),
    cap: originCap(resources, target.url.origin, cfg.maxInFlight),
    prepare(ctx, headers): OutboundRequest {
      headers.host = cfg.preserveHost && ctx.client.host !== '' ? ctx.client.host : host;
      // The one TE HTTP/2 allows, which gRPC servers look for; hop-by-hop, so it was not copied.
      if (cfg.http2 && wantsTrailers(ctx.headers.te)) headers.te = 'trailers';
      return { method: ctx.method, path: upstreamPath(target, ctx.path, ctx.query), headers, body: ctx.body };
    },
    send: several === undefined ? send : resilientSender(several.set, several.retry, servername, timeouts),
    close: () => Promise.resolve(),
    ...(several !== undefined ? { targets: () => several.set.view(performance.now(), Date.now()) } : {}),
  };
}
