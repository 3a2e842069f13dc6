/**
 * A real OpenID Provider (panva/oidc-provider) running in-process on 127.0.0.1 for tests. It issues
 * RFC 9068 JWT access tokens through the client_credentials grant for the resource `api://test`, and
 * opaque access tokens for the resource `api://opaque`, which its RFC 7662 introspection endpoint
 * checks and its RFC 7009 revocation endpoint revokes. Tests of outbound credentials add clients,
 * resource servers and grants (`registerGrantType`, see token-grants.ts) through the options, count
 * token requests and make the endpoint fail (`intercept`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';

/** A running test OP. */
export interface TestOidcProvider {
  readonly issuer: string;
  readonly port: number;
  /** The audience every access token carries. */
  readonly audience: string;
  readonly clientId: string;
  /** Secret of `clientId` (it authenticates with client_secret_post). */
  readonly clientSecret: string;
  /** The resource whose access tokens are opaque (`clientCredentialsToken({ resource: opaqueAudience })`). */
  readonly opaqueAudience: string;
  /** The introspection endpoint and a client registered for client_secret_basic to call it with. */
  readonly introspection: { readonly endpoint: string; readonly clientId: string; readonly clientSecret: string };
  /** Kid of the key that signs new tokens. */
  readonly currentKid: string;
  clientCredentialsToken(opts?: { scope?: string; resource?: string }): Promise<string>;
  /** Revoke an opaque token at the revocation endpoint (as the client it was issued to). */
  revoke(token: string): Promise<void>;
  /** Put a new signing key first (the old one stays published), so new tokens carry a new kid. */
  rotateKeys(): Promise<void>;
  /** Close the server: the port then refuses connections. */
  stop(): Promise<void>;
  /** Listen again on the same port with the same keys. */
  restart(): Promise<void>;
  /** POST /token requests received so far. */
  readonly tokenRequests: number;
  /** Of those, refresh_token grants (answered or refused). */
  readonly refreshRequests: number;
  /** Answer every request with `handler` instead of the provider (undefined: the provider again). */
  intercept(handler: Handler | undefined): void;
}

/** A resource server of the test OP (RFC 8707 indicator → its tokens' audience, scopes and lifetime). */
export interface TestResourceServer {
  readonly scope: string;
  /** Seconds (default 600). */
  readonly ttl?: number;
}

/** What a test adds to the OP. */
export interface OidcProviderOptions {
  port?: number;
  /** More static clients (oidc-provider client metadata). */
  clients?: Record<string, unknown>[];
  /** More resource servers by indicator; their scopes are added to the OP's. */
  resourceServers?: Record<string, TestResourceServer>;
  /** The resource of a request without `resource` (default `api://test`), e.g. from an Entra-style `…/.default` scope. */
  defaultResource?: (scope: string | undefined) => string | undefined;
  /** Runs on each provider instance after it is built (registerGrantType). */
  setup?: (provider: ProviderInstance) => void;
  /** Browser sign-in: the development login and consent forms (any login name, any password). */
  interactive?: boolean;
  /** Claims of the account signed in as `login` (ID tokens carry them: `conformIdTokenClaims` is off). */
  account?: (login: string) => Record<string, unknown>;
  /** Lifetimes in seconds by token kind (`IdToken`, `AccessToken`, `RefreshToken`, `Session`, …). */
  ttl?: Record<string, number>;
  /** Issue a new refresh token on every refresh (the old one then fails). */
  rotateRefreshToken?: boolean;
  /** OIDC Back-Channel Logout: clients with a `backchannel_logout_uri` are told when a session ends. */
  backchannelLogout?: boolean;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
/** The part of an oidc-provider instance the harness uses (the package ships no types). */
export interface ProviderInstance {
  callback(): Handler;
  on(event: 'grant.success' | 'grant.error', listener: (ctx: GrantContext) => void): void;
  registerGrantType(name: string, handler: (ctx: GrantContext) => Promise<void>, params?: string[]): void;
  readonly AccessToken: new (fields: Record<string, unknown>) => { resourceServer?: unknown; expiration: number; save(): Promise<string> };
}
/** A token request's koa context, as a registered grant handler sees it. */
export interface GrantContext {
  oidc: { params: Record<string, string | undefined>; client: { clientId: string } };
  body: unknown;
}
type ProviderCtor = new (issuer: string, config: Record<string, unknown>) => ProviderInstance;

const AUDIENCE = 'api://test';
const CLIENT_ID = 'gatehouse-test';
const CLIENT_SECRET = 'gatehouse-test-secret-not-for-production';
const SCOPES = 'read write admin';
const OPAQUE_AUDIENCE = 'api://opaque';
const INTROSPECTOR_ID = 'gatehouse-introspector';
const INTROSPECTOR_SECRET = 'gatehouse-introspector-secret-not-for-production';

/** oidc-provider's error classes (`new errors.InvalidGrant(description)`). */
export type ProviderErrors = Record<string, new (description?: string) => Error>;
let loaded: Promise<{ Provider: ProviderCtor; createAdapter: () => unknown; errors: ProviderErrors }> | undefined;

/** oidc-provider's error classes, for grant handlers. */
export async function providerErrors(): Promise<ProviderErrors> {
  return (await (loaded ??= load())).errors;
}

/** oidc-provider ships no type declarations, so it is imported through an untyped specifier. */
async function load(): Promise<{ Provider: ProviderCtor; createAdapter: () => unknown; errors: ProviderErrors }> {
  const specifier: string = 'oidc-provider';
  const adapterSpecifier: string = 'oidc-provider/lib/adapters/memory_adapter.js';
  // Its import-time "unsupported runtime" notice (Node 20) is noise in test output.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).startsWith('oidc-provider WARNING: Unsupported runtime')) warn(...args);
  };
  try {
    const mod = (await import(specifier)) as { default: ProviderCtor; errors: ProviderErrors };
    const adapters = (await import(adapterSpecifier)) as { createMemoryAdapter: () => unknown };
    return { Provider: mod.default, createAdapter: adapters.createMemoryAdapter, errors: mod.errors };
  } finally {
    console.warn = warn;
  }
}

async function newSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: `k-${Math.random().toString(36).slice(2, 10)}`, alg: 'RS256', use: 'sig' };
}

function configuration(keys: JWK[], createAdapter: () => unknown, opts: OidcProviderOptions): Record<string, unknown> {
  const resourceServer = {
    scope: SCOPES, audience: AUDIENCE, accessTokenFormat: 'jwt', accessTokenTTL: 600, jwt: { sign: { alg: 'RS256' } },
  };
  const opaqueServer = { scope: SCOPES, audience: OPAQUE_AUDIENCE, accessTokenFormat: 'opaque', accessTokenTTL: 600 };
  const extra = new Map(Object.entries(opts.resourceServers ?? {}).map(([audience, rs]) => [audience, {
    scope: rs.scope, audience, accessTokenFormat: 'jwt', accessTokenTTL: rs.ttl ?? 600, jwt: { sign: { alg: 'RS256' } },
  }]));
  const signIn = opts.interactive === true ? ['openid', 'offline_access', 'profile', 'email'] : [];
  const scopes = [...new Set([...SCOPES.split(' '), ...[...extra.values()].flatMap((rs) => rs.scope.split(' ')), ...signIn])];
  const ttl = (_ctx: unknown, token: { resourceServer?: { accessTokenTTL?: number } }): number => token.resourceServer?.accessTokenTTL ?? 600;
  // Any authenticated client may introspect; a token's own client may revoke it.
  const mayIntrospect = (): boolean => true;
  const mayRevoke = (_ctx: unknown, client: { clientId: string }, token: { clientId: string }): boolean => client.clientId === token.clientId;
  return {
    adapter: createAdapter(),
    clients: [{
      client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_types: ['client_credentials'],
      redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_post', scope: SCOPES,
    }, {
      client_id: INTROSPECTOR_ID, client_secret: INTROSPECTOR_SECRET, grant_types: ['client_credentials'],
      redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_basic',
    }, ...(opts.clients ?? [])],
    jwks: { keys },
    scopes,
    ttl: { ClientCredentials: ttl, AccessToken: ttl, ...opts.ttl },
    ...(opts.rotateRefreshToken !== undefined ? { rotateRefreshToken: opts.rotateRefreshToken } : {}),
    // Its SSRF guard refuses loopback addresses, where the test gateway's back-channel endpoint is.
    ...(opts.backchannelLogout === true ? { fetch: (url: string, init: Record<string, unknown>) => globalThis.fetch(url, { ...init, dispatcher: undefined }) } : {}),
    ...(opts.account !== undefined ? {
      conformIdTokenClaims: false,
      claims: { openid: ['sub'], profile: ['name', 'groups', 'roles'], email: ['email'] },
      findAccount: (_ctx: unknown, id: string) => ({ accountId: id, claims: () => ({ sub: id, ...opts.account!(id) }) }),
    } : {}),
    // Claims a registered grant put on its token (token-grants.ts: RFC 8693 `act`); others get none.
    extraTokenClaims: (_ctx: unknown, token: { gty?: string; extra?: Record<string, unknown> }) => (token.gty === 'token-exchange' ? token.extra : undefined),
    features: {
      devInteractions: { enabled: opts.interactive === true },
      rpInitiatedLogout: { enabled: true },
      backchannelLogout: { enabled: opts.backchannelLogout === true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: mayIntrospect },
      revocation: { enabled: true, allowedPolicy: mayRevoke },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx: { oidc: { params: { scope?: string } } }) => opts.defaultResource?.(ctx.oidc.params.scope) ?? AUDIENCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, indicator: string) => extra.get(indicator) ?? (indicator === OPAQUE_AUDIENCE ? opaqueServer : resourceServer),
      },
    },
  };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Start a real OP on 127.0.0.1 (port 0 unless given). */
export async function startOidcProvider(opts: OidcProviderOptions = {}): Promise<TestOidcProvider> {
  const { Provider, createAdapter } = await (loaded ??= load());
  let keys = [await newSigningKey()];
  let handler: Handler = (_req, res) => { res.statusCode = 503; res.end(); };
  let intercepted: Handler | undefined;
  let tokenRequests = 0;
  let refreshRequests = 0;
  const countRefresh = (ctx: GrantContext): void => { if (ctx.oidc.params.grant_type === 'refresh_token') refreshRequests++; };
  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method === 'POST' && req.url === '/token') tokenRequests++;
    (intercepted ?? handler)(req, res);
  };
  let server = createServer(serve);
  const port = await listen(server, opts.port ?? 0);
  const issuer = `http://127.0.0.1:${port}`;
  // Swapping the handler on the same listening port is re-creating the Provider "on the same port".
  const build = (): void => {
    const provider = new Provider(issuer, configuration(keys, createAdapter, opts));
    opts.setup?.(provider);
    provider.on('grant.success', countRefresh);
    provider.on('grant.error', countRefresh);
    handler = provider.callback();
  };
  build();

  return {
    issuer, port, audience: AUDIENCE, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, opaqueAudience: OPAQUE_AUDIENCE,
    introspection: { endpoint: `${issuer}/token/introspection`, clientId: INTROSPECTOR_ID, clientSecret: INTROSPECTOR_SECRET },
    get currentKid() { return keys[0]!.kid!; },
    async clientCredentialsToken(o = {}) {
      const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
      if (o.scope !== undefined) body.set('scope', o.scope);
      body.set('resource', o.resource ?? AUDIENCE);
      const res = await fetch(`${issuer}/token`, { method: 'POST', body });
      const json = (await res.json()) as { access_token?: string; error?: string };
      if (!res.ok || !json.access_token) throw new Error(`token request failed: ${res.status} ${json.error ?? ''}`);
      return json.access_token;
    },
    async revoke(token) {
      const body = new URLSearchParams({ token, token_type_hint: 'access_token', client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
      const res = await fetch(`${issuer}/token/revocation`, { method: 'POST', body });
      if (!res.ok) throw new Error(`revocation failed: ${res.status} ${await res.text()}`);
    },
    async rotateKeys() {
      keys = [await newSigningKey(), ...keys];
      build();
    },
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
    async restart() {
      server = createServer(serve);
      await listen(server, port);
    },
    get tokenRequests() { return tokenRequests; },
    get refreshRequests() { return refreshRequests; },
    intercept(h) { intercepted = h; },
  };
}
