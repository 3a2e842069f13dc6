/**
 * The gateway-owned sign-in endpoints, answered before routing: each provider's callback path,
 * `/.gatehouse/login?rd=` (start a sign-in explicitly) and `/.gatehouse/logout` (end the session).
 */
import { refusal, type Refusal } from '../errors.js';
import type { LoginFlow } from '../authn/session/login.js';
import { safeReturnPath } from '../authn/session/return-url.js';
import type { RequestContext } from './context.js';
import { renderRedirect } from './render.js';

export const LOGIN_PATH = '/.gatehouse/login';
export const LOGOUT_PATH = '/.gatehouse/logout';

/** Answers a gateway-owned path (a promise of the refusal, if any), or undefined when the path is not one. */
export type SsoEndpoints = (ctx: RequestContext) => Promise<Refusal | undefined> | undefined;

const BAD_RETURN: Refusal = Object.freeze({ code: 'redirect_not_allowed', detail: 'rd must be a path on this site, such as /reports' });
const NOT_ALLOWED = refusal('method_not_allowed');

/** The endpoints of `flows` (the sign-in flows of the providers with a `login` block), or undefined without any. */
export function createSsoEndpoints(flows: readonly LoginFlow[]): SsoEndpoints | undefined {
  if (flows.length === 0) return undefined;
  const callbacks = new Map(flows.map((f) => [f.redirectPath, f] as const));
  const first = flows[0]!;

  async function answer(ctx: RequestContext, result: Awaited<ReturnType<LoginFlow['callback']>>): Promise<Refusal | undefined> {
    if ('code' in result) return result;
    renderRedirect(ctx, result.location, result.cookies);
    return undefined;
  }

  return (ctx) => {
    const q = ctx.url.indexOf('?');
    const path = q < 0 ? ctx.url : ctx.url.slice(0, q);
    const callback = callbacks.get(path);
    if (callback === undefined && path !== LOGIN_PATH && path !== LOGOUT_PATH) return undefined;
    ctx.path = ctx.record.path = path;
    ctx.query = q < 0 ? '' : ctx.url.slice(q + 1);
    const method = ctx.method;
    if (callback !== undefined) return method === 'GET' ? callback.callback(ctx).then((r) => answer(ctx, r)) : Promise.resolve(NOT_ALLOWED);
    if (path === LOGOUT_PATH) {
      if (method !== 'GET' && method !== 'POST') return Promise.resolve(NOT_ALLOWED);
      const flow = flows.find((f) => f.hasSession(ctx)) ?? first;
      return flow.logout(ctx).then((r) => answer(ctx, r));
    }
    if (method !== 'GET') return Promise.resolve(NOT_ALLOWED);
    const rd = new URLSearchParams(ctx.query).get('rd') ?? '/';
    const target = safeReturnPath(rd);
    if (target === undefined) return Promise.resolve(BAD_RETURN);
    return first.begin(ctx, target);
  };
}
