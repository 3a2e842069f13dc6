/**
 * The one error table. Every refusal or failure the gateway can answer with has a stable code
 * (API: never rename one), one HTTP status and one title. docs/errors.md is checked against it.
 */
export const ERRORS = {
  // routing
  route_not_found: { status: 404, title: 'No route matches this request' },
  method_not_allowed: { status: 405, title: 'Method not allowed on this route' },
  path_traversal: { status: 400, title: 'Path escapes the root' },
  path_encoded_separator: { status: 400, title: 'Encoded / or \\ in a path segment' },
  path_invalid_encoding: { status: 400, title: 'Invalid percent-encoding or UTF-8 in the path' },
  path_double_encoding: { status: 400, title: 'A percent-encoded % forms another escape in the path' },
  path_invalid_character: { status: 400, title: 'Forbidden character in the path' },
  invalid_request_target: { status: 400, title: 'Request target is not a valid origin-form or absolute-form URI' },
  header_duplicated: { status: 400, title: 'A header that must appear once appears more than once' },
  authority_mismatch: { status: 400, title: 'The Host header names another authority than the HTTP/2 :authority' },
  upgrade_not_supported: { status: 400, title: 'Protocol upgrade (WebSocket) is not supported on this route' },
  websocket_handshake_invalid: { status: 400, title: 'The WebSocket handshake is not a valid one (GET, version 13, a 16-byte key)' },
  // forward-auth endpoint
  forward_auth_untrusted_peer: { status: 403, title: 'Forward-auth decisions are answered to trusted proxies only' },
  forward_auth_request_invalid: { status: 400, title: 'The forward-auth request does not describe one original request' },
  // authentication (401 unless noted)
  token_missing: { status: 401, title: 'No credential presented' },
  token_location_not_allowed: { status: 401, title: 'Token presented in a place this route does not accept' },
  token_malformed: { status: 401, title: 'Token is not a well-formed JWT' },
  algorithm_not_allowed: { status: 401, title: 'Token algorithm is not allowed' },
  issuer_unknown: { status: 401, title: 'Token issuer is not accepted on this route' },
  audience_mismatch: { status: 401, title: 'Token audience does not match' },
  token_expired: { status: 401, title: 'Token has expired' },
  token_not_yet_valid: { status: 401, title: 'Token is not yet valid' },
  token_issued_in_future: { status: 401, title: 'Token issued-at time is in the future' },
  token_too_old: { status: 401, title: 'Token is older than the allowed maximum age' },
  signature_invalid: { status: 401, title: 'Token signature is invalid' },
  unknown_key: { status: 401, title: 'Token is signed with an unknown key' },
  token_type_invalid: { status: 401, title: 'Token type (typ) is not accepted' },
  claim_invalid: { status: 401, title: 'A required claim is missing or invalid' },
  provider_unavailable: { status: 503, title: 'Identity provider keys are not available' },
  api_key_invalid: { status: 401, title: 'API key is not valid' },
  api_key_expired: { status: 401, title: 'API key has expired' },
  request_expired: { status: 401, title: 'Signed request is outside its validity window' },
  unknown_access_key: { status: 401, title: 'Access key is not known' },
  credential_scope_invalid: { status: 401, title: 'Credential scope (date, region or service) does not match' },
  signed_headers_invalid: { status: 401, title: 'A header that must be signed is not signed' },
  payload_hash_mismatch: { status: 401, title: 'Request body does not match its signed hash' },
  unsigned_payload_not_allowed: { status: 401, title: 'Unsigned payloads are not accepted here' },
  client_certificate_required: { status: 401, title: 'A client certificate is required' },
  client_certificate_invalid: { status: 401, title: 'Client certificate is not trusted or not valid' },
  token_inactive: { status: 401, title: 'Token is not active' },
  introspection_failed: { status: 503, title: 'Token introspection endpoint could not decide' },
  // browser sessions (authn/session)
  login_required: { status: 302, title: 'Sign-in required: redirected to the identity provider' },
  session_invalid: { status: 401, title: 'Session cookie cannot be opened (tampered, truncated or sealed with a retired key)' },
  session_expired: { status: 401, title: 'Session has ended (idle or absolute lifetime, or its refresh failed)' },
  session_store_unavailable: { status: 503, title: 'The session store cannot be reached; the session could not be checked' },
  session_revoked: { status: 401, title: 'Session was ended at the identity provider (back-channel logout)' },
  logout_token_invalid: { status: 400, title: 'Back-channel logout token is not valid' },
  login_state_invalid: { status: 400, title: 'Login callback state is missing, unknown, expired or already used' },
  login_failed: { status: 401, title: 'The identity provider did not complete the sign-in' },
  redirect_not_allowed: { status: 400, title: 'Return URL is not a same-origin relative path, or not on the allow-list' },
  csrf_origin_mismatch: { status: 403, title: 'Cross-site state-changing request refused on a cookie-authenticated route' },
  // authorization
  no_rule_matched: { status: 403, title: 'No allow rule matched' },
  denied_by_rule: { status: 403, title: 'Denied by a deny rule' },
  // throttling
  rate_limited: { status: 429, title: 'Rate limit exceeded' },
  quota_exhausted: { status: 429, title: 'Quota for this period is used up' },
  concurrency_limited: { status: 503, title: 'Too many requests in flight' },
  limiter_unavailable: { status: 503, title: 'Rate limiter cannot decide (store unavailable)' },
  // request limits
  body_too_large: { status: 413, title: 'Request body exceeds the route limit' },
  request_timeout: { status: 408, title: 'Request was not received in time' },
  content_type_not_allowed: { status: 415, title: 'Content type is not accepted on this route' },
  body_invalid: { status: 422, title: 'Request body does not match the route\'s schema' },
  idempotency_key_missing: { status: 400, title: 'This route requires an idempotency key' },
  idempotency_key_invalid: { status: 400, title: 'Idempotency key is not 1 to 128 visible ASCII characters' },
  // upstream
  upstream_credential_unavailable: { status: 503, title: 'The credential for the upstream could not be obtained' },
  token_exchange_refused: { status: 403, title: 'The token endpoint refused to exchange the caller\'s token for one for this upstream' },
  upstream_unreachable: { status: 502, title: 'Upstream could not be reached' },
  upstream_error: { status: 502, title: 'Upstream failed while answering' },
  upstream_timeout: { status: 504, title: 'Upstream did not answer in time' },
  upstream_unavailable: { status: 503, title: 'Every target of the upstream is down, ejected or has its circuit open' },
  upstream_websocket_refused: { status: 502, title: 'Upstream refused the WebSocket upgrade' },
  grpc_timeout_invalid: { status: 400, title: 'The grpc-timeout header is not 1 to 8 digits and a unit (H, M, S, m, u, n)' },
  grpc_deadline_exceeded: { status: 504, title: 'The gRPC call\'s deadline (grpc-timeout) passed before the upstream answered' },
  // broker upstreams: nothing was confirmed when one of these is answered (a retry with the same idempotency key is de-duplicated)
  destination_not_found: { status: 404, title: 'No such destination on this route' },
  broker_unavailable: { status: 503, title: 'The message broker cannot be reached or went away before confirming; retry with the same idempotency key' },
  broker_refused: { status: 503, title: 'The message broker refused the message; it was not accepted' },
  message_unsendable: { status: 422, title: 'The broker cannot carry this message as sent (its body or size); change it rather than retry' },
  broker_timeout: { status: 504, title: 'The message broker did not confirm the message in time; retry with the same idempotency key' },
  // audit only: the client got the upstream's own 5xx response
  upstream_server_error: { status: 502, title: 'Upstream answered with a server error (audit only: the client gets the upstream\'s response)' },
  // audit only: nobody is left to answer (nginx's 499)
  client_aborted: { status: 499, title: 'Client closed the connection before the response' },
  // last resort
  internal_error: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** Error carrying a stable code; switch on `code`, never on the message. */
export class GatehouseError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(detail ?? ERRORS[code].title, options);
    this.name = 'GatehouseError';
    this.code = code;
    this.status = ERRORS[code].status;
  }
}

/** A refusal that is data, not an exception: what every stage ends a request with. */
export interface Refusal {
  readonly code: ErrorCode;
  /** Safe, caller-facing detail. Never contains a token, secret or key. */
  readonly detail?: string;
  /** Response headers that go with it (`Retry-After`, `Allow`, rate-limit headers, `Location` and `Set-Cookie` of a login redirect). */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  /** Audit and log only: what went wrong inside (an upstream's TLS error code). Never shown to the client. */
  readonly internal?: string;
  /** Per-field problems shown to the caller as the problem body's `errors` member (RFC 9457 §3.2): a body's schema errors. */
  readonly errors?: readonly { readonly pointer: string; readonly message: string }[];
}

const plain = new Map<ErrorCode, Refusal>();

/** The shared refusal for a code without detail (one frozen object per code: no allocation per request). */
export function refusal(code: ErrorCode): Refusal {
  let r = plain.get(code);
  if (r === undefined) plain.set(code, (r = Object.freeze({ code })));
  return r;
}
