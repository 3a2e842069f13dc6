/** How a request's body goes upstream, decided once for the single-target and the several-target sender. */
import type { Refusal } from '../../errors.js';
import type { RequestContext } from '../../pipeline/context.js';

/** The request ends with a refusal before anything was sent: the rest of the client's body will not be read. */
export function refuseUnread(ctx: RequestContext, result: Refusal): Refusal {
  if (!ctx.exchange.requestComplete) ctx.exchange.discardBody();
  return result;
}

/** Methods whose empty buffered body is still sent (with `content-length: 0`). */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * `buffered`: an earlier stage read the body (bounded); it is sent as is, `out.body`, with its
 * length. `stream`: the client's body is piped. `none`: there is no body. A declared length over
 * the route's limit is refused before anything is sent (the unread body is discarded).
 */
export function planBody(ctx: RequestContext): 'none' | 'buffered' | 'stream' | Refusal {
  const out = ctx.outbound!;
  if (out.body !== undefined) {
    delete out.headers['transfer-encoding'];
    out.headers['content-length'] = String(out.body.length);
    return out.body.length > 0 || BODY_METHODS.has(out.method) ? 'buffered' : 'none';
  }
  const declared = ctx.headers['content-length'];
  const maxBodyBytes = ctx.route!.maxBodyBytes;
  if (declared !== undefined && Number(declared) > maxBodyBytes) {
    ctx.exchange.discardBody();
    return { code: 'body_too_large', detail: `request body exceeds ${maxBodyBytes} bytes` };
  }
  const hasBody = declared === undefined ? ctx.headers['transfer-encoding'] !== undefined || ctx.exchange.bodyFollows === true : declared !== '0';
  return hasBody ? 'stream' : 'none';
}
