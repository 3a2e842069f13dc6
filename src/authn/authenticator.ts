/** The authentication stage's one narrow interface, shared by every method (bearer JWT, API key, SigV4, mTLS, introspection). */
import type { IncomingHttpHeaders } from 'node:http';
import type { PeerCertificate } from 'node:tls';
import type { Refusal } from '../errors.js';
import type { Identity } from '../identity/identity.js';

/** The client certificate as the listener saw it (only on TLS listeners that request one). */
export interface ClientTls {
  /** The chain verified against the listener's client CA bundle. */
  readonly authorized: boolean;
  readonly authorizationError?: string;
  /** Empty object when the client sent no certificate. */
  readonly peerCertificate: PeerCertificate;
}

/** What an authenticator may look at. */
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
  /**
   * Read the whole request body (bounded by the route's maxBodySize; rejects with
   * GatehouseError('body_too_large') past it). The gateway then forwards the buffered bytes.
   * Only authenticators that must see the payload (SigV4) call it.
   */
  readonly body: () => Promise<Buffer>;
}

/** A decision of one authenticator; `provider` names who refused, when known. */
export type AuthnOutcome = { ok: true; identity: Identity } | { ok: false; refusal: Refusal; provider?: string };

/** One way of authenticating callers. */
export interface Authenticator {
  readonly kind: string;
  /** undefined = no credential of this kind present ("not mine"); a present but invalid one is a refusal. */
  authenticate(req: AuthnRequest): Promise<AuthnOutcome | undefined> | AuthnOutcome | undefined;
  /** Request headers that carry this method's credential; never forwarded upstream (unless `forwardAuthorization`). */
  readonly credentialHeaders?: readonly string[];
  /** Whether provider state is loaded (keys fetched, key files read); feeds /readyz. */
  readonly ready?: boolean;
  start?(): Promise<void>;
  close?(): void;
}
