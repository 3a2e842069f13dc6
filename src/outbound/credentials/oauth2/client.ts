/**
 * The gateway as an OAuth2 client at a token endpoint, through openid-client: discovery, the four
 * client authentication methods, any grant. HTTP goes through undici (timeouts, the configured CA,
 * bounded response bodies, as fetch-json.ts does); every failure becomes a TokenEndpointError whose
 * reason is safe for the audit line (a status, an OAuth error code, a fixed phrase, never a secret).
 */
import { createHash, X509Certificate } from 'node:crypto';
import * as oidc from 'openid-client';
import { Agent, request, type Dispatcher } from 'undici';
import { parseDuration } from '../../../config/units.js';
import { describeFailure, readBounded } from '../../../authn/fetch-json.js';
import { isAbsolute, resolve } from 'node:path';
import { fileTokenSource } from '../token-source.js';
import type { OAuth2ClientAuthConfig } from './schema.js';
import { loadClientKey, type ClientKey } from './client-key.js';

/** Token responses are small; anything larger is refused. */
const MAX_RESPONSE_BYTES = 64 * 1024;
const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Least time between discovery attempts after one failed. */
const DISCOVERY_COOLDOWN_MS = 5_000;

/** OAuth error codes by which a token endpoint refuses what it was given to trade (the caller's problem). */
const REFUSED = new Set(['invalid_grant', 'unauthorized_client', 'access_denied', 'invalid_target', 'consent_required', 'interaction_required']);

/** A token could not be had. `refused`: the endpoint answered with an OAuth error in REFUSED. */
export class TokenEndpointError extends Error {
  override readonly name = 'TokenEndpointError';
  constructor(readonly reason: string, readonly refused = false, readonly oauthError?: string, options?: { cause?: unknown }) {
    super(`token endpoint: ${reason}`, options);
  }
}

/** What a successful grant gives back. */
export interface IssuedToken {
  readonly accessToken: string;
  /** Epoch ms; the endpoint's `expires_in`, or `defaultLifetimeMs` when it says none. */
  readonly expiresAt: number;
}

export interface TokenClient {
  readonly clientId: string;
  /** Origin and path of the token endpoint (configured, or discovered once `grant` ran); the issuer until then. */
  readonly tokenUrl: string;
  grant(grantType: string, params: Record<string, string>): Promise<IssuedToken>;
  /** Start what the client authentication reads (the assertion file). */
  start(): Promise<void>;
  close(): void;
}

/** Without `expires_in`, a token is reused this long. */
const DEFAULT_LIFETIME_MS = 5 * 60_000;

/** Origin and path of a URL (never its query, which could carry anything). */
export function originAndPath(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** Build the client for `cfg` (at load); nothing is fetched until the first grant. */
export function createTokenClient(cfg: OAuth2ClientAuthConfig, baseDir: string, secrets: { redact(text: string): string } = { redact: (t) => t }): TokenClient {
  if (cfg.tokenUrl === undefined && cfg.issuer === undefined) throw new Error('oauth2: set `tokenUrl`, or `issuer` for discovery');
  const timeoutMs = parseDuration(cfg.timeout ?? '10s');
  const dispatcher = cfg.ca !== undefined ? new Agent({ connect: { ca: cfg.ca } }) : undefined;
  const fetch = boundedFetch(timeoutMs, dispatcher);
  const method = cfg.clientAuth ?? 'client_secret_basic';
  const assertionFile = method === 'client_assertion_file' ? fileTokenSource(resolvePath(baseDir, required(cfg.clientAssertionFile, 'clientAssertionFile', method))) : undefined;
  let key: Promise<ClientKey> | undefined;
  let tokenUrl = cfg.tokenUrl ?? cfg.issuer!;
  let config: Promise<oidc.Configuration> | undefined;
  let failedAt = 0;

  const auth = async (endpoint: string): Promise<oidc.ClientAuth> => {
    switch (method) {
      case 'client_secret_basic': return oidc.ClientSecretBasic(required(cfg.clientSecret, 'clientSecret', method));
      case 'client_secret_post': return oidc.ClientSecretPost(required(cfg.clientSecret, 'clientSecret', method));
      case 'private_key_jwt': {
        const k = await (key ??= loadClientKey(required(cfg.privateKey, 'privateKey', method), cfg.keyId));
        const thumbprints = cfg.certificate !== undefined ? certificateThumbprints(cfg.certificate) : undefined;
        return oidc.PrivateKeyJwt(k, {
          // RFC 7523 §3: the token endpoint is the audience every server accepts (Entra and Okta require it).
          [oidc.modifyAssertion]: (header, payload) => {
            payload.aud = endpoint;
            if (thumbprints) Object.assign(header, thumbprints);
          },
        });
      }
      case 'client_assertion_file':
        return async (_as, client, body) => {
          body.set('client_id', client.client_id);
          body.set('client_assertion_type', JWT_BEARER_ASSERTION);
          body.set('client_assertion', await assertionFile!.token().catch((err: Error) => { throw new TokenEndpointError(`client assertion: ${err.message}`); }));
        };
    }
  };

  const configure = async (): Promise<oidc.Configuration> => {
    let server: oidc.ServerMetadata;
    if (cfg.tokenUrl !== undefined) server = { issuer: cfg.issuer ?? cfg.tokenUrl, token_endpoint: cfg.tokenUrl };
    else server = (await discover(cfg.issuer!, cfg.clientId, fetch, timeoutMs)).serverMetadata();
    const endpoint = server.token_endpoint;
    if (typeof endpoint !== 'string') throw new TokenEndpointError('discovery document has no token_endpoint');
    const c = new oidc.Configuration(server, cfg.clientId, {}, await auth(endpoint));
    c[oidc.customFetch] = fetch;
    c.timeout = Math.ceil(timeoutMs / 1000);
    if (isHttp(endpoint)) oidc.allowInsecureRequests(c);
    tokenUrl = originAndPath(endpoint);
    return c;
  };

  const configuration = (): Promise<oidc.Configuration> => {
    if (config === undefined) {
      if (Date.now() - failedAt < DISCOVERY_COOLDOWN_MS) return Promise.reject(new TokenEndpointError('discovery failed recently; retrying shortly'));
      config = configure();
      config.catch(() => { config = undefined; failedAt = Date.now(); });
    }
    return config;
  };

  return {
    clientId: cfg.clientId,
    get tokenUrl() { return originAndPath(tokenUrl); },
    async grant(grantType, params) {
      try {
        const c = await configuration();
        const res = grantType === 'client_credentials' ? await oidc.clientCredentialsGrant(c, params) : await oidc.genericGrantRequest(c, grantType, params);
        // It goes into a header: one token of visible ASCII, nothing that could reframe the request.
        if (!/^[\x21-\x7e]{1,16384}$/.test(res.access_token)) throw new TokenEndpointError('access_token is not a usable bearer token');
        const expiresIn = typeof res.expires_in === 'number' && res.expires_in > 0 ? res.expires_in * 1000 : DEFAULT_LIFETIME_MS;
        return { accessToken: res.access_token, expiresAt: Date.now() + expiresIn };
      } catch (err) {
        throw await classify(err, secrets.redact);
      }
    },
    start: () => assertionFile?.start() ?? Promise.resolve(),
    close() {
      assertionFile?.close();
      void dispatcher?.close();
    },
  };
}

async function discover(issuer: string, clientId: string, fetch: oidc.CustomFetch, timeoutMs: number): Promise<oidc.Configuration> {
  let last: unknown;
  for (const algorithm of ['oidc', 'oauth2'] as const) {
    try {
      return await oidc.discovery(new URL(issuer), clientId, undefined, oidc.None(), {
        [oidc.customFetch]: fetch, algorithm, timeout: Math.ceil(timeoutMs / 1000), ...(isHttp(issuer) ? { execute: [oidc.allowInsecureRequests] } : {}),
      });
    } catch (err) {
      last = err;
    }
  }
  throw new TokenEndpointError(`discovery failed (${reasonOf(last)})`, false, undefined, { cause: last });
}

/** The TokenEndpointError our fetch or client authentication threw, inside openid-client's wrapping. */
function unwrap(err: unknown): TokenEndpointError | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) if (e instanceof TokenEndpointError) return e;
  return undefined;
}

/** The error to throw: ours, or one made from the endpoint's OAuth error answer (RFC 6749 §5.2). */
async function classify(err: unknown, redact: (text: string) => string): Promise<TokenEndpointError> {
  const ours = unwrap(err);
  if (ours !== undefined) return ours;
  let answer: { status: number; error: unknown; description: unknown } | undefined;
  if (err instanceof oidc.ResponseBodyError) answer = { status: err.status, error: err.error, description: err.error_description };
  else if (err instanceof oidc.WWWAuthenticateChallengeError) {
    // A 401 with a challenge (invalid_client over Basic): the error is in the challenge or the body.
    const params = err.cause[0]?.parameters ?? {};
    const body = (await err.response.json().catch(() => ({}))) as { error?: unknown; error_description?: unknown };
    answer = { status: err.status, error: params.error ?? body.error, description: params.error_description ?? body.error_description };
  }
  if (answer === undefined) return new TokenEndpointError(reasonOf(err), false, undefined, { cause: err });
  const code = typeof answer.error === 'string' && /^[\w.-]{1,64}$/.test(answer.error) ? answer.error : 'error';
  const description = typeof answer.description === 'string' ? `: ${redact(answer.description).replace(/[^\x20-\x7e]/g, '').slice(0, 300)}` : '';
  return new TokenEndpointError(`HTTP ${answer.status} ${code}${description}`, answer.status < 500 && REFUSED.has(code), code);
}

function reasonOf(err: unknown): string {
  const ours = unwrap(err);
  if (ours !== undefined) return ours.reason;
  if (err instanceof oidc.ResponseBodyError) return `HTTP ${err.status} ${err.error}`;
  const code = (err as { code?: unknown } | undefined)?.code;
  if (err instanceof Error && typeof code === 'string' && code.startsWith('OAUTH_')) {
    const status = (err.cause as { status?: unknown } | undefined)?.status;
    return `${code}${typeof status === 'number' ? ` (HTTP ${status})` : ''}`;
  }
  return describeFailure(err);
}

/** openid-client's fetch, through undici: timeouts, the CA, a bounded body; redirects are not followed. */
function boundedFetch(timeoutMs: number, dispatcher: Dispatcher | undefined): oidc.CustomFetch {
  return async (url, options) => {
    let res: Dispatcher.ResponseData;
    try {
      const body = options.body === undefined ? undefined : String(options.body);
      res = await request(url, {
        method: options.method as Dispatcher.HttpMethod, headers: options.headers, body, dispatcher,
        headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new TokenEndpointError(`request failed (${describeFailure(err)})`, false, undefined, { cause: err });
    }
    if (Number(res.headers['content-length']) > MAX_RESPONSE_BYTES) {
      res.body.destroy();
      throw new TokenEndpointError(`HTTP ${res.statusCode}, response too large`);
    }
    const text = await readBounded(res.body, MAX_RESPONSE_BYTES, () => new TokenEndpointError(`HTTP ${res.statusCode}, response too large`),
      (reason, cause) => new TokenEndpointError(`reading the response failed (${reason})`, false, undefined, { cause }));
    if (res.statusCode >= 500) throw new TokenEndpointError(`HTTP ${res.statusCode}`);
    const headers = new Headers();
    for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    return new Response(res.statusCode === 204 || res.statusCode === 304 ? null : text, { status: res.statusCode, headers });
  };
}

/** `x5t` (SHA-1) and `x5t#S256` of a PEM certificate, base64url. */
function certificateThumbprints(pem: string): Record<string, string> {
  let der: Buffer;
  try {
    der = new X509Certificate(pem).raw;
  } catch (err) {
    throw new Error('oauth2: certificate is not a PEM certificate', { cause: err });
  }
  return { x5t: createHash('sha1').update(der).digest('base64url'), 'x5t#S256': createHash('sha256').update(der).digest('base64url') };
}

function required(value: string | undefined, key: string, method: string): string {
  if (value === undefined) throw new Error(`oauth2: \`clientAuth: ${method}\` needs \`${key}\``);
  return value;
}

function isHttp(url: string): boolean {
  return /^http:/i.test(url);
}

function resolvePath(baseDir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}
