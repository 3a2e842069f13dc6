/**
 * `/dashboard` on the admin listener: the login page, the single-page dashboard and its JSON APIs.
 * Every page and API but the login page (and its style sheet and script) needs a session or the bearer token.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { DashboardAuth, isTls, sameOrigin, type Credential } from './auth.js';
import { filterAudit } from './audit-tail.js';
import { summarize } from './stats.js';
import { parseSimulateRequest, SimulateError } from './views.js';
import type { DashboardSource } from './source.js';

export interface DashboardOptions {
  readonly token: string;
  readonly source: DashboardSource;
  readonly log: Logger;
}

/** Handles one admin request under `/dashboard`. */
export type DashboardHandler = (req: IncomingMessage, res: ServerResponse, path: string) => void;

const STATIC_DIR = new URL('../../../dashboard/', import.meta.url);
const FILES = { 'index.html': 'text/html', 'login.html': 'text/html', 'dashboard.js': 'text/javascript', 'dashboard.css': 'text/css' } as const;
type FileName = keyof typeof FILES;

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};
const MAX_FORM_BYTES = 4096;
const MAX_JSON_BYTES = 65_536;

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': `${type}; charset=utf-8`, 'content-length': Buffer.byteLength(body), ...extra }).end(body);
}
const json = (res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void => send(res, status, 'application/json', JSON.stringify(body), extra);

/** The request body as text, at most `max` bytes (undefined past it). */
function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) { resolve(undefined); req.resume(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(size > max ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const wantsJson = (req: IncomingMessage): boolean => (req.headers.accept ?? '').includes('application/json');
const param = (url: URL, name: string): string | undefined => url.searchParams.get(name) ?? undefined;

/** Build the dashboard's handler; its files are read once, here. */
export function createDashboardHandler(opts: DashboardOptions): DashboardHandler {
  const auth = new DashboardAuth(opts.token);
  const files = Object.fromEntries(Object.keys(FILES).map((f) => [f, readFileSync(new URL(f, STATIC_DIR))])) as Record<FileName, Buffer>;
  const file = (res: ServerResponse, name: FileName, status = 200): void => send(res, status, FILES[name], files[name]);
  // The page's script sends its forms with fetch, asking for JSON; a plain form POST gets the page.
  const loginPage = (req: IncomingMessage, res: ServerResponse, status: number, message: string): void => {
    if (wantsJson(req)) return json(res, status, { status: status === 200 ? 'ok' : 'refused', error: message });
    send(res, status, 'text/html', files['login.html'].toString('utf8').replace('<!--message-->', message));
  };
  const moved = (req: IncomingMessage, res: ServerResponse, location: string, cookie: string): void => {
    if (wantsJson(req)) return json(res, 200, { status: 'ok', location }, { 'set-cookie': cookie });
    send(res, 303, 'text/plain', '', { location, 'set-cookie': cookie });
  };
  const failed = (req: IncomingMessage, how: string): void => {
    // The token itself is never logged, wrong or right.
    opts.log.warn({ client: req.socket.remoteAddress, how }, 'dashboard login failed');
  };

  const login = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!sameOrigin(req, 'none')) return loginPage(req, res, 403, 'This form must be sent from the dashboard\'s own page.');
    if (!auth.attempt()) return loginPage(req, res, 429, 'Too many attempts; wait a second and try again.');
    const body = await readBody(req, MAX_FORM_BYTES);
    const token = body === undefined ? undefined : new URLSearchParams(body).get('token');
    if (!token || !auth.check(token)) {
      failed(req, 'login');
      return loginPage(req, res, 401, 'Wrong token.');
    }
    moved(req, res, '/dashboard', DashboardAuth.cookieFor(auth.open(), isTls(req)));
  };

  const api = async (req: IncomingMessage, res: ServerResponse, name: string, url: URL, credential: Credential): Promise<void> => {
    const get = req.method === 'GET' || req.method === 'HEAD';
    switch (name) {
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
        if (!sameOrigin(req, credential)) return json(res, 403, { status: 'cross_origin', error: 'the simulator takes requests from the dashboard\'s own origin only' });
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
      if (!sameOrigin(req, credential)) return json(res, 403, { status: 'cross_origin' });
      auth.close(req);
      return moved(req, res, '/dashboard/login', DashboardAuth.cookieFor('', isTls(req)).replace(/Max-Age=\d+/, 'Max-Age=0'));
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
