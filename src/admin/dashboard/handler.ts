/**
 * `/dashboard` on the admin listener: the login page, the single-page dashboard and its JSON APIs.
 * Every page and API but the login page (and its style sheet and script) needs a session or the bearer token.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import { DashboardAuth, type Credential } from './auth.js';
import { filterAudit } from './audit-tail.js';
import { summarize } from './stats.js';
import { parseSimulateRequest, SimulateError } from './views.js';
import type { DashboardSource } from './source.js';
import { escapeHtml, json, readBody, send, wantsJson } from './respond.js';
import type { DashboardConfig } from './schema.js';
import { createDashboardSso, SSO_CALLBACK_PATH, SSO_LOGIN_PATH, type DashboardSso, type SsoResult } from './sso.js';

export interface DashboardOptions {
  /** `admin.dashboard`: the token, the SSO sign-in, or both. */
  readonly config: DashboardConfig;
  /** `providers` of the config (the SSO sign-in names one). */
  readonly providers: Config['providers'];
  readonly source: DashboardSource;
  readonly log: Logger;
}

/** Handles one admin request under `/dashboard`. */
export type DashboardHandler = (req: IncomingMessage, res: ServerResponse, path: string) => void;

const STATIC_DIR = new URL('../../../dashboard/', import.meta.url);
const FILES = { 'index.html': 'text/html', 'login.html': 'text/html', 'dashboard.js': 'text/javascript', 'dashboard.css': 'text/css' } as const;
type FileName = keyof typeof FILES;

const MAX_FORM_BYTES = 4096;
const MAX_JSON_BYTES = 65_536;

const param = (url: URL, name: string): string | undefined => url.searchParams.get(name) ?? undefined;

/** Build the dashboard's handler; its files are read once, here. */
export function createDashboardHandler(opts: DashboardOptions): DashboardHandler {
  const auth = new DashboardAuth(opts.config.token, opts.config.sso?.externalUrl);
  const sso = ssoOf(opts, auth);
  const files = Object.fromEntries(Object.keys(FILES).map((f) => [f, readFileSync(new URL(f, STATIC_DIR))])) as Record<FileName, Buffer>;
  const file = (res: ServerResponse, name: FileName, status = 200): void => send(res, status, FILES[name], files[name]);
  const loginHtml = loginTemplate(files['login.html'].toString('utf8'), auth.hasToken, sso);
  // The page's script sends its forms with fetch, asking for JSON; a plain form POST gets the page.
  const loginPage = (req: IncomingMessage, res: ServerResponse, status: number, message: string, extra: Record<string, readonly string[]> = {}): void => {
    if (wantsJson(req)) return json(res, status, { status: status === 200 ? 'ok' : 'refused', error: message }, extra);
    send(res, status, 'text/html', loginHtml.replace('<!--message-->', () => escapeHtml(message)), extra);
  };
  const moved = (req: IncomingMessage, res: ServerResponse, location: string, cookie: string): void => {
    if (wantsJson(req)) return json(res, 200, { status: 'ok', location }, { 'set-cookie': cookie });
    send(res, 303, 'text/plain', '', { location, 'set-cookie': cookie });
  };
  const failed = (req: IncomingMessage, how: string): void => {
    // The token itself is never logged, wrong or right.
    opts.log.warn({ client: req.socket.remoteAddress, how }, 'dashboard login failed');
  };
  const ssoAnswer = (req: IncomingMessage, res: ServerResponse, r: SsoResult): void => {
    const cookies = { 'set-cookie': r.cookies };
    if (r.kind === 'redirect') return send(res, 303, 'text/plain', '', { location: r.location, ...cookies });
    // The session cookie is SameSite=Strict: a browser would not send it on the redirect chain the
    // provider started, so the way on to the dashboard is a navigation of this page, same-site.
    if (r.kind === 'signed_in') return send(res, 200, 'text/html', signedInPage(r.location), cookies);
    loginPage(req, res, r.status, r.message, cookies);
  };

  const login = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!auth.hasToken) return loginPage(req, res, 404, 'This dashboard signs in with SSO only.');
    if (!auth.sameOrigin(req, 'none')) return loginPage(req, res, 403, 'This form must be sent from the dashboard\'s own page.');
    if (!auth.attempt()) return loginPage(req, res, 429, 'Too many attempts; wait a second and try again.');
    const body = await readBody(req, MAX_FORM_BYTES);
    const token = body === undefined ? undefined : new URLSearchParams(body).get('token');
    if (!token || !auth.check(token)) {
      failed(req, 'login');
      return loginPage(req, res, 401, 'Wrong token.');
    }
    opts.log.info({ client: req.socket.remoteAddress, via: 'token' }, 'dashboard sign-in');
    moved(req, res, '/dashboard', auth.sessionCookie(req, auth.open({ via: 'token' })));
  };

  const api = async (req: IncomingMessage, res: ServerResponse, name: string, url: URL, credential: Credential): Promise<void> => {
    const get = req.method === 'GET' || req.method === 'HEAD';
    switch (name) {
      case 'session': if (get) return json(res, 200, credential === 'bearer' ? { via: 'bearer' } : (auth.session(req) ?? {})); break;
      case 'stats': if (get) return json(res, 200, summarize(await opts.source.stats())); break;
      case 'routes': if (get) return json(res, 200, { routes: await opts.source.routes() }); break;
      case 'providers': if (get) return json(res, 200, { providers: await opts.source.providers() }); break;
      case 'audit': {
        if (!get) break;
        const f = { subject: param(url, 'subject'), route: param(url, 'route'), decision: param(url, 'decision'), code: param(url, 'code') };
        const limit = Math.min(Math.max(Number(param(url, 'limit') ?? 200) || 200, 1), 500);
        return json(res, 200, { rows: filterAudit(await opts.source.audit(), f, limit) });
      }
      case 'simulate': {
        if (req.method !== 'POST') break;
        if (!auth.sameOrigin(req, credential)) return json(res, 403, { status: 'cross_origin', error: 'the simulator takes requests from the dashboard\'s own origin only' });
        const body = await readBody(req, MAX_JSON_BYTES);
        if (body === undefined) return json(res, 413, { status: 'too_large' });
        let parsed: unknown;
        try { parsed = JSON.parse(body); } catch { return json(res, 400, { status: 'bad_request', error: 'the body must be JSON' }); }
        try {
          return json(res, 200, await opts.source.simulate(parseSimulateRequest(parsed)));
        } catch (err) {
          if (err instanceof SimulateError) return json(res, 400, { status: 'bad_request', error: err.message });
          throw err;
        }
      }
      default: return json(res, 404, { status: 'not_found' });
    }
    json(res, 405, { status: 'method_not_allowed' });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (path === '/dashboard/login') {
      if (req.method === 'POST') return login(req, res);
      return loginPage(req, res, 200, '');
    }
    if (sso !== undefined && req.method === 'GET' && path === SSO_LOGIN_PATH) return ssoAnswer(req, res, await sso.begin(req, url.searchParams));
    if (sso !== undefined && req.method === 'GET' && path === SSO_CALLBACK_PATH) return ssoAnswer(req, res, await sso.callback(req, url.searchParams));
    // The style sheet and the script hold no data: the login page uses them too.
    if (path === '/dashboard/dashboard.css') return file(res, 'dashboard.css');
    if (path === '/dashboard/dashboard.js') return file(res, 'dashboard.js');
    const isApi = path.startsWith('/dashboard/api/');
    let credential = auth.credential(req);
    if (credential === 'wrong_bearer') {
      failed(req, 'bearer');
      if (!auth.attempt()) return json(res, 429, { status: 'too_many_attempts' });
    }
    if (credential === 'wrong_bearer') credential = 'none';
    if (credential === 'none') {
      if (isApi || req.method !== 'GET') return json(res, 401, { status: 'unauthorized' }, { 'www-authenticate': 'Bearer realm="gatehouse-dashboard"' });
      return send(res, 303, 'text/plain', '', { location: '/dashboard/login' });
    }
    if (isApi) return api(req, res, path.slice('/dashboard/api/'.length), url, credential);
    if (path === '/dashboard/logout' && req.method === 'POST') {
      if (!auth.sameOrigin(req, credential)) return json(res, 403, { status: 'cross_origin' });
      const who = auth.session(req);
      auth.close(req);
      if (who !== undefined) opts.log.info({ client: req.socket.remoteAddress, via: who.via, subject: who.subject }, 'dashboard sign-out');
      return moved(req, res, '/dashboard/login', auth.clearCookie(req));
    }
    if (path === '/dashboard' || path === '/dashboard/') return file(res, 'index.html');
    return json(res, 404, { status: 'not_found' });
  };

  return (req, res, path) => {
    handle(req, res, path).catch((err: unknown) => {
      opts.log.error({ err: err instanceof Error ? err.message : String(err) }, 'dashboard request failed');
      if (!res.headersSent) json(res, 503, { status: 'unavailable', error: 'the dashboard could not answer; see the gateway log' });
      else res.destroy();
    });
  };
}

/** The SSO sign-in of `admin.dashboard.sso`, when configured. */
function ssoOf(opts: DashboardOptions, auth: DashboardAuth): DashboardSso | undefined {
  const cfg = opts.config.sso;
  if (cfg === undefined) return undefined;
  const provider = opts.providers?.[cfg.provider];
  if (provider === undefined || provider.type !== 'oidc') throw new Error(`admin.dashboard.sso.provider: "${cfg.provider}" is not an oidc provider`);
  return createDashboardSso(cfg, cfg.provider, provider, auth, opts.log);
}

/** The login page for this dashboard: the SSO button and/or the token form. */
function loginTemplate(html: string, token: boolean, sso: DashboardSso | undefined): string {
  const withSso = sso === undefined ? html : html.replace('<!--sso-->', `<a class="sso" id="sso" href="${SSO_LOGIN_PATH}">Sign in with SSO (${escapeHtml(sso.provider)})</a>`);
  return token ? withSso : withSso.replace(/<!--token-->[\s\S]*<!--\/token-->/, '');
}

/** The page between the callback and the dashboard (no script: a refresh and a link). */
function signedInPage(location: string): string {
  const href = escapeHtml(location);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${href}"><title>Signed in</title><link rel="stylesheet" href="/dashboard/dashboard.css"></head><body class="login"><main><h1>Signed in</h1><p><a href="${href}">Continue to the dashboard</a></p></main></body></html>`;
}
