/**
 * A compact JWS decoded, unverified, only as far as routing needs: the header at once (to pick the
 * key), the claims on first use. On a cache miss with one provider and a held key, only fast-jwt's
 * verifier parses the claims; the unverified ones are read for refusals, unknown kids and choosing
 * between several providers.
 */
import { decodeJwt, decodeProtectedHeader, type JWTPayload, type ProtectedHeaderParameters } from 'jose';

export interface DecodedToken {
  readonly token: string;
  readonly header: ProtectedHeaderParameters;
  /**
   * The unverified claims (decoded once, on the first call), or undefined when the payload is not a
   * JSON object: such a token is malformed. The verifier checks the claims for real on the same bytes.
   */
  claims(): JWTPayload | undefined;
}

/** A compact JWS has three base64url parts; anything else is an opaque token (for introspection). */
export const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Decoded headers by their encoded segment: every token of one key carries the same header bytes, so
 * a miss does not parse it again. Only headers of plain values are kept (they are frozen and shared).
 * At most HEADER_MEMO are held, the oldest dropped first: foreign headers cannot grow the map, and a
 * flood of them only costs what decoding every header did.
 */
const HEADER_MEMO = 64;
const MAX_MEMO_SEGMENT = 512;
const headers = new Map<string, ProtectedHeaderParameters>();

const plain = (h: object): boolean => Object.values(h).every((v) => v === null || typeof v !== 'object');

function header(token: string, segment: string): ProtectedHeaderParameters {
  const known = headers.get(segment);
  if (known !== undefined) return known;
  const h = decodeProtectedHeader(token);
  if (segment.length <= MAX_MEMO_SEGMENT && plain(h)) {
    if (headers.size >= HEADER_MEMO) headers.delete(headers.keys().next().value!);
    headers.set(segment, Object.freeze(h));
  }
  return h;
}

/** The token's header and lazily its claims, or undefined when it is not a JWS with a decodable header. */
export function decodeToken(token: string): DecodedToken | undefined {
  const dot = token.indexOf('.');
  if (dot <= 0 || token.indexOf('.', dot + 1) < 0) return undefined;
  let h: ProtectedHeaderParameters;
  try {
    h = header(token, token.slice(0, dot));
  } catch {
    return undefined;
  }
  let claims: JWTPayload | undefined | null = null;
  return {
    token,
    header: h,
    claims() {
      if (claims === null) {
        try {
          claims = decodeJwt(token);
        } catch {
          claims = undefined;
        }
      }
      return claims;
    },
  };
}
