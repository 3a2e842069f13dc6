/** RFC 7662 on the wire: POST the token with client authentication; discovery of the endpoint. */
import { request, type Dispatcher } from 'undici';
import { describeFailure, discard, fetchJson, FetchJsonError, JSON_TYPE, readBounded } from '../fetch-json.js';

/** Introspection responses are small; anything larger is refused. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** How the gateway calls the endpoint (fixed per provider at load). */
export interface IntrospectionClientOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly clientAuth: 'client_secret_basic' | 'client_secret_post';
  readonly timeoutMs: number;
  readonly dispatcher?: Dispatcher;
}

/** The endpoint could not decide. `reason` is safe to publish: a status, an error code or a fixed phrase. */
export class IntrospectionError extends Error {
  override readonly name = 'IntrospectionError';
  constructor(readonly reason: string, options?: { cause?: unknown }) {
    super(`introspection failed: ${reason}`, options);
  }
}

/** RFC 6749 §2.3.1: id and secret are form-encoded before they are joined for Basic. */
export function basicCredentials(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/** Build the fixed parts of every request once. */
export function requestTemplate(opts: IntrospectionClientOptions): { headers: Record<string, string>; form: Record<string, string> } {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (opts.clientAuth === 'client_secret_basic') return { headers: { ...headers, authorization: basicCredentials(opts.clientId, opts.clientSecret) }, form: {} };
  return { headers, form: { client_id: opts.clientId, client_secret: opts.clientSecret } };
}

/** POST `token` to `endpoint`; resolves the response object (with a boolean `active`) or throws IntrospectionError. */
export async function introspect(endpoint: string, token: string, opts: IntrospectionClientOptions, template = requestTemplate(opts)): Promise<Record<string, unknown>> {
  const body = new URLSearchParams({ token, token_type_hint: 'access_token', ...template.form }).toString();
  let res: Dispatcher.ResponseData;
  try {
    res = await request(endpoint, {
      method: 'POST', headers: template.headers, body, dispatcher: opts.dispatcher,
      headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs, signal: AbortSignal.timeout(opts.timeoutMs),
    });
  } catch (err) {
    throw new IntrospectionError(describeFailure(err), { cause: err });
  }
  const type = res.headers['content-type'];
  if (res.statusCode !== 200) return fail(res, `HTTP ${res.statusCode}`);
  if (typeof type !== 'string' || !JSON_TYPE.test(type)) return fail(res, 'response is not application/json');
  if (Number(res.headers['content-length']) > MAX_RESPONSE_BYTES) return fail(res, 'response too large');
  const text = await readBounded(res.body, MAX_RESPONSE_BYTES, () => new IntrospectionError('response too large'), (reason, cause) => new IntrospectionError(reason, { cause }));
  const parsed = parse(text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || typeof (parsed as { active?: unknown }).active !== 'boolean') {
    throw new IntrospectionError('response has no boolean "active"');
  }
  return parsed as Record<string, unknown>;
}

/** Find the introspection endpoint from the issuer's metadata (OIDC discovery, then RFC 8414). */
export async function discoverEndpoint(issuer: string, timeoutMs: number, dispatcher?: Dispatcher): Promise<string> {
  const base = issuer.replace(/\/+$/, '');
  let last: unknown;
  for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
    try {
      const doc = (await fetchJson(base + path, { timeoutMs, ...(dispatcher ? { dispatcher } : {}) })) as Record<string, unknown>;
      // Mix-up defense: the document must speak for the configured issuer.
      if (doc.issuer !== issuer) throw new IntrospectionError('discovery document issuer does not match the configured issuer');
      const endpoint = doc.introspection_endpoint;
      if (typeof endpoint !== 'string' || !/^https?:\/\//i.test(endpoint)) throw new IntrospectionError('discovery document has no http(s) introspection_endpoint');
      return endpoint;
    } catch (err) {
      if (err instanceof IntrospectionError) throw err;
      last = err;
    }
  }
  throw new IntrospectionError(`discovery failed: ${last instanceof FetchJsonError ? last.message : describeFailure(last)}`, { cause: last });
}

function fail(res: Dispatcher.ResponseData, reason: string): never {
  discard(res.body);
  throw new IntrospectionError(reason);
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new IntrospectionError('response is not valid JSON');
  }
}
