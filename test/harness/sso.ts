/**
 * Browser sign-in test environment: a real interactive OpenID Provider, a real upstream and a real
 * gateway whose provider has a `login` block, plus a cookie jar and a form-following client that
 * signs in the way a browser would (no browser needed).
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { startGateway, type TestGateway } from './gateway.js';
import { startOidcProvider, type OidcProviderOptions, type TestOidcProvider } from './oidc-provider.js';
import { startUpstream, type TestUpstream } from './upstream.js';

export const WEB_CLIENT_ID = 'gatehouse-web';
export const WEB_CLIENT_SECRET = 'gatehouse-web-secret-not-for-production';
export const SESSION_KEYS = ['k1-session-key-0123456789abcdef-0123456789', 'k0-older-session-key-0123456789abcdef-01234'];

export interface SsoEnv {
  readonly op: TestOidcProvider;
  readonly upstream: TestUpstream;
  readonly gw: TestGateway;
  readonly origin: string;
  stop(): Promise<void>;
}

/** A free port on 127.0.0.1 (the OP must know the gateway's redirect URI before the gateway starts). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface SsoEnvOptions {
  readonly op?: OidcProviderOptions;
  /** Fields of the `login` block over the defaults. */
  readonly login?: Record<string, unknown>;
  readonly keys?: readonly string[];
  /** Routes (default: `/app/**` by session or bearer, `/api/**` the same, POST allowed). */
  readonly routes?: (upstream: string) => Record<string, unknown>[];
  readonly host?: string;
  /** Client metadata over the web client's (e.g. `token_endpoint_auth_method: private_key_jwt` with `jwks`). */
  readonly webClient?: Record<string, unknown>;
  /** The OP tells the gateway when a session ends there (Back-Channel Logout with `sid`). */
  readonly backchannel?: boolean;
  /** Top-level config sections over the defaults (e.g. `forwardAuth`). */
  readonly config?: Record<string, unknown>;
  /** More redirect URIs of the web client (another listener's callback). */
  readonly redirectUris?: readonly string[];
  /** The gateway's logger (default: silent). */
  readonly log?: Logger;
}

/** 200 group object ids, as Entra ID puts them in tokens (its limit before the groups overage claim). */
export const MANY_GROUPS = Array.from({ length: 200 }, () => randomUUID());

const ACCOUNTS = (login: string): Record<string, unknown> => ({
  name: `User ${login}`, email: `${login}@example.test`,
  groups: login === 'many' ? MANY_GROUPS : ['staff', `team-${login}`], roles: login === 'alice' ? ['reader', 'admin'] : ['reader'],
});

/** Start OP, upstream and gateway for sign-in tests. */
/**
 * Run `start` again (up to three times) when it fails because a port taken free was bound by
 * someone else before the gateway listened on it (test files run concurrently).
 */
export async function retryOnPortClash<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === 3) throw err;
    }
  }
}

export function startSsoEnv(opts: SsoEnvOptions = {}): Promise<SsoEnv> {
  return retryOnPortClash(() => startSsoEnvOnce(opts));
}

async function startSsoEnvOnce(opts: SsoEnvOptions): Promise<SsoEnv> {
  const port = await freePort();
  const host = opts.host ?? '127.0.0.1';
  const origin = `http://${host}:${port}`;
  const upstream = await startUpstream();
  const op = await startOidcProvider({
    interactive: true,
    account: ACCOUNTS,
    rotateRefreshToken: true,
    ...(opts.backchannel === true ? { backchannelLogout: true } : {}),
    ...opts.op,
    clients: [{
      client_id: WEB_CLIENT_ID, client_secret: WEB_CLIENT_SECRET, grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      redirect_uris: [`${origin}/.gatehouse/callback`, ...(opts.redirectUris ?? [])], post_logout_redirect_uris: [`${origin}/signed-out`], token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid profile email offline_access',
      ...(opts.backchannel === true ? { backchannel_logout_uri: `${origin}/.gatehouse/backchannel-logout`, backchannel_logout_session_required: true } : {}),
      ...opts.webClient,
    }, ...(opts.op?.clients ?? [])],
  });
  process.env.GH_TEST_WEB_SECRET = WEB_CLIENT_SECRET;
  const keys = opts.keys ?? SESSION_KEYS;
  keys.forEach((k, i) => { process.env[`GH_TEST_SESSION_KEY_${i}`] = k; });
  const routes = opts.routes?.(upstream.url) ?? [
    { name: 'app', match: { path: '/app/*' }, authenticate: ['session:idp', 'idp'], upstream: { url: upstream.url } },
    { name: 'admin', match: { path: '/admin/*' }, authenticate: ['session:idp', 'idp'], allow: [{ roles: ['admin'] }], upstream: { url: upstream.url } },
    { name: 'signed-out', match: { path: '/signed-out' }, public: true, upstream: { url: upstream.url } },
  ];
  let gw: TestGateway;
  try {
    gw = await startGateway({
      listen: { port, host: '127.0.0.1' },
      providers: {
        idp: {
          type: 'oidc', issuer: op.issuer, audience: op.audience,
          login: {
            clientId: WEB_CLIENT_ID, clientSecret: '${env:GH_TEST_WEB_SECRET}', prompt: 'consent',
            keys: keys.map((_, i) => `\${env:GH_TEST_SESSION_KEY_${i}}`), postLogoutRedirects: [`${origin}/signed-out`],
            ...opts.login,
          },
        },
      },
      routes,
      ...opts.config,
    }, opts.log ? { log: opts.log } : {});
  } catch (err) {
    // Nothing left running when the gateway cannot start (a port clash is retried by the caller).
    await upstream.close();
    await op.stop();
    throw err;
  }
  return {
    op, upstream, gw, origin,
    async stop() { await gw.stop(); await upstream.close(); await op.stop(); },
  };
}

/** Cookies by host:port, as a browser would keep them (attributes other than Max-Age ignored). */
export class CookieJar {
  readonly #jar = new Map<string, Map<string, string>>();
  store(url: string, setCookie: readonly string[]): void {
    const host = new URL(url).host;
    const mine = this.#jar.get(host) ?? new Map<string, string>();
    this.#jar.set(host, mine);
    for (const line of setCookie) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (gone) mine.delete(name);
      else mine.set(name, pair.slice(eq + 1).trim());
    }
  }
  header(url: string): string | undefined {
    const mine = this.#jar.get(new URL(url).host);
    return mine === undefined || mine.size === 0 ? undefined : [...mine].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  get(url: string, name: string): string | undefined { return this.#jar.get(new URL(url).host)?.get(name); }
  set(url: string, name: string, value: string | undefined): void {
    const host = new URL(url).host;
    const mine = this.#jar.get(host) ?? new Map<string, string>();
    this.#jar.set(host, mine);
    if (value === undefined) mine.delete(name);
    else mine.set(name, value);
  }
  names(url: string): string[] { return [...(this.#jar.get(new URL(url).host)?.keys() ?? [])]; }
}

export const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

/** One request with the jar's cookies, redirects not followed. */
export async function send(jar: CookieJar, url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Response> {
  const cookie = jar.header(url);
  const res = await fetch(url, { method: init.method ?? 'GET', redirect: 'manual', headers: { accept: BROWSER_ACCEPT, ...(cookie ? { cookie } : {}), ...init.headers }, ...(init.body !== undefined ? { body: init.body } : {}) });
  jar.store(url, res.headers.getSetCookie());
  return res;
}

/** The steps of a browser navigation: each URL visited and the final response. */
export interface Navigation { readonly visited: string[]; readonly response: Response; readonly url: string }

/**
 * Navigate to `url` as a browser: follow redirects, fill the provider's login form as `login` and
 * confirm its consent form. Stops at the first response that is neither a redirect nor a form of the OP.
 */
export async function browse(jar: CookieJar, url: string, login = 'alice', opts: { stopAt?: (url: URL) => boolean } = {}): Promise<Navigation> {
  const maxSteps = 20;
  const visited: string[] = [];
  let next: { url: string; method: string; body?: string } = { url, method: 'GET' };
  for (let i = 0; i < maxSteps; i++) {
    if (opts.stopAt?.(new URL(next.url)) === true) return { visited, response: new Response(null, { status: 204 }), url: next.url };
    visited.push(next.url);
    const res = await send(jar, next.url, { method: next.method, ...(next.body !== undefined ? { body: next.body, headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {}) });
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.arrayBuffer();
      next = { url: new URL(location, next.url).href, method: 'GET' };
      continue;
    }
    const type = res.headers.get('content-type') ?? '';
    const { pathname } = new URL(next.url);
    const opPage = pathname.startsWith('/interaction/') || (pathname.startsWith('/session/end') && pathname !== '/session/end/success');
    if (!opPage || !type.includes('text/html')) return { visited, response: res, url: next.url };
    const html = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (action === undefined) throw new Error(`no form at ${next.url} (${res.status}): ${html.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").slice(300, 900)}`);
    const target = new URL(action.replace(/&amp;/g, '&'), next.url).href;
    const fields = new URLSearchParams();
    for (const [tag] of html.matchAll(/<input[^>]*>/g)) {
      const name = /name="([^"]+)"/.exec(tag)?.[1];
      if (name !== undefined) fields.set(name, /value="([^"]*)"/.exec(tag)?.[1] ?? '');
    }
    if (fields.has('login')) { fields.set('login', login); fields.set('password', 'any'); }
    if (fields.has('xsrf')) fields.set('logout', 'yes');
    next = { url: target, method: 'POST', body: fields.toString() };
  }
  throw new Error(`too many steps from ${url}`);
}
