/** RFC 6750 challenges: which refusals on a bearer route carry `WWW-Authenticate`, and what it says. */
import { ERRORS, type ErrorCode, type Refusal } from '../errors.js';

const INVALID_TOKEN_CODES = new Set<ErrorCode>([
  'token_location_not_allowed', 'token_malformed', 'algorithm_not_allowed', 'issuer_unknown', 'audience_mismatch',
  'token_expired', 'token_not_yet_valid', 'token_issued_in_future', 'token_too_old', 'signature_invalid',
  'unknown_key', 'token_type_invalid', 'claim_invalid', 'token_inactive',
]);

function quoted(text: string): string {
  return text.replace(/[\\"]/g, '').replace(/[^\x20-\x7e]/g, '');
}

/** The challenge for a refusal on a route that accepts bearer tokens, or undefined when none applies. */
export function bearerChallenge(refusal: Refusal): string | undefined {
  const { code } = refusal;
  if (code === 'token_missing') return 'Bearer realm="gatehouse"';
  if (INVALID_TOKEN_CODES.has(code)) {
    return `Bearer realm="gatehouse", error="invalid_token", error_description="${quoted(refusal.detail ?? ERRORS[code].title)}"`;
  }
  if (code === 'no_rule_matched' || code === 'denied_by_rule') return 'Bearer realm="gatehouse", error="insufficient_scope"';
  return undefined;
}
