/** A compact JWS decoded once, unverified: to route it to its provider and pick the key. */
import { decodeJwt, decodeProtectedHeader, type JWTPayload, type ProtectedHeaderParameters } from 'jose';

export interface DecodedToken {
  readonly token: string;
  readonly header: ProtectedHeaderParameters;
  /** Unverified claims: the verifier checks them for real on the same bytes. */
  readonly payload: JWTPayload;
}

/** A compact JWS has three base64url parts; anything else is an opaque token (for introspection). */
export const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** The token's header and claims, or undefined when it is not a decodable JWT. */
export function decodeToken(token: string): DecodedToken | undefined {
  try {
    return { token, header: decodeProtectedHeader(token), payload: decodeJwt(token) };
  } catch {
    return undefined;
  }
}
