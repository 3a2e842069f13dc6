/**
 * The gateway-owned sign-in endpoints, answered before routing: each provider's callback path,
 * `/.gatehouse/login?rd=` (start a sign-in explicitly), `/.gatehouse/logout` (end the session) and
 * `/.gatehouse/backchannel-logout` (the provider ends sessions, OIDC Back-Channel Logout 1.0).
 */
import { decodeJwt } from 'jose';
import { GatehouseError, refusal, type Refusal } from '../errors.js';
import type { LoginFlow } from '../authn/session/login.js';
import { safeReturnPath } from '../authn/session/return-url.js';
import type { RequestContext } from './context.js';
import { renderRedirect } from './render.js';

export const LOGIN_PATH = '/.gatehouse/login';
export const LOGOUT_PATH = '/.gatehouse/logout';
export const BACKCHANNEL_PATH = '/.gatehouse/backchannel-logout';
/** A logout token form is small. */
const MAX_LOGOUT_BODY = 64 * 1024;

/** Answers a gateway-owned path (a promise of the refusal, if any), or undefined when the path is not one. */
export type SsoEndpoints = (ctx: RequestContext) => Promise<Refusal | undefined> | undefined;

const BAD_RETURN: Refusal = Object.freeze({ code: 'redirect_not_allowed', detail: 'rd must be a path on this site, such as /reports' });
const NOT_ALLOWED = refusal('method_not_allowed');
const INVALID_LOGOUT = refusal('logout_token_invalid');

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

  /** The provider POSTs `logout_token` (form-encoded); its `iss` picks the flow that verifies it. */
  async function backchannel(ctx: RequestContext): Promise<Refusal | undefined> {
    let body: Buffer;
    try {
      body = await ctx.exchange.readBody(MAX_LOGOUT_BODY);
    } catch (err) {
      if (err instanceof GatehouseError) return refusal(err.code);
      throw err;
    }
    const token = new URLSearchParams(body.toString('utf8')).get('logout_token');
    let iss: unknown;
    try {
      iss = token === null ? undefined : decodeJwt(token).iss;
    } catch {
      iss = undefined;
    }
    const flow = flows.find((f) => f.issuer === iss);
    const refused = flow === undefined || token === null ? INVALID_LOGOUT : await flow.backchannelLogout(token);
    if (refused !== undefined) return refused;
    ctx.record.status = 200;
    ctx.exchange.send(200, { 'cache-control': 'no-store', 'content-length': 0, ...ctx.responseHeaders }, '');
    return undefined;
  }

  return (ctx) => {
    const q = ctx.url.indexOf('?');
    const path = q < 0 ? ctx.url : ctx.url.slice(0, q);
    const callback = callbacks.get(path);
    if (callback === undefined && path !== LOGIN_PATH && path !== LOGOUT_PATH && path !== BACKCHANNEL_PATH) return undefined;
    ctx.path = ctx.record.path = path;
    ctx.query = q < 0 ? '' : ctx.url.slice(q + 1);
    const method = ctx.method;
    if (callback !== undefined) return method === 'GET' ? callback.callback(ctx).then((r) => answer(ctx, r)) : Promise.resolve(NOT_ALLOWED);
    if (path === BACKCHANNEL_PATH) return method === 'POST' ? backchannel(ctx) : Promise.resolve(NOT_ALLOWED);
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
