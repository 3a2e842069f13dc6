/** The authentication stage's one narrow interface, shared by every method (bearer JWT, API key, SigV4, mTLS, introspection). */
import type { IncomingHttpHeaders } from 'node:http';
import type { Refusal } from '../errors.js';
import type { Identity } from '../identity/identity.js';
import type { ClientTls } from '../pipeline/exchange.js';
import type { ClientInfo } from '../outbound/client.js';

export type { ClientTls } from '../pipeline/exchange.js';

/** What an authenticator may look at (the RequestContext is one). */
export interface AuthnRequest {
  readonly method: string;
  /** The normalized path (what routing matched). */
  readonly path: string;
  /** The path exactly as received, before normalization (SigV4 signs the URI the client sent). */
  readonly rawPath: string;
  /** Raw query string, without the leading `?`. */
  readonly query: string;
  readonly headers: IncomingHttpHeaders;
  /** Header lines as received, name/value alternating (node joins repeats with ", "; SigV4 needs ","). */
  readonly rawHeaders?: readonly string[] | undefined;
  /** Present on TLS connections. */
  readonly tls?: ClientTls | undefined;
  /** The client as trusted proxies report it (scheme and host: the origin a session's CSRF check compares with). */
  readonly client?: ClientInfo | undefined;
  /**
   * Read the whole request body (bounded by the route's maxBodySize; rejects with
   * GatehouseError('body_too_large') past it). The gateway then forwards the buffered bytes.
   * Only authenticators that must see the payload (SigV4) call it.
   */
  readBody(): Promise<Buffer>;
}

/** A decision of one authenticator; `provider` names who refused, when known. */
export type AuthnOutcome =
  | { readonly ok: true; readonly identity: Identity; readonly setCookies?: readonly string[] }
  | { readonly ok: false; readonly refusal: Refusal; readonly provider?: string; readonly unverified?: UnverifiedClaims };

/** What a refused credential claims about its issuer and tenant, unverified: for the audit line only. */
export interface UnverifiedClaims {
  readonly issuer?: string | undefined;
  readonly tenant?: string | undefined;
}

/** No credential of this kind is present ("not mine"): the next authenticator of the route may answer. */
export const ABSENT = 'absent';
/** A credential is present but only `authenticate` can decide (keys to fetch, an endpoint to ask, a body to read). */
export const PENDING = 'pending';

/** One way of authenticating callers. A present but invalid credential is a refusal, never "not mine". */
export interface Authenticator {
  readonly kind: string;
  /** Decide without waiting when possible: from a cache, a key table or held keys. */
  probe(req: AuthnRequest): AuthnOutcome | typeof ABSENT | typeof PENDING;
  /** Decide, waiting if need be; called when `probe` said PENDING. */
  authenticate(req: AuthnRequest): Promise<AuthnOutcome | typeof ABSENT>;
  /** Request headers that carry this method's credential; never forwarded upstream (unless `forwardAuthorization`). */
  readonly credentialHeaders: readonly string[];
  /** How to ask a caller for this credential ("a bearer token in the Authorization header"). */
  readonly hint: string;
  /** Refusals on routes with this authenticator carry an RFC 6750 `WWW-Authenticate` challenge. */
  readonly bearer: boolean;
  /** Whether provider state is loaded (keys fetched, key files read); feeds /readyz. */
  readonly ready: boolean;
  start(): Promise<void>;
  close(): void;
}

/** What every provider factory gets besides its own config. */
export interface ProviderContext {
  /** Directory of the config file (relative paths resolve against it). */
  readonly baseDir: string;
}
