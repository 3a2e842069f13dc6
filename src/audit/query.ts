/**
 * Query strings in the audit line: recorded for lineage, with the values of parameters that carry
 * signatures, tokens, codes or secrets replaced. The names compare case-insensitively after
 * percent-decoding, so `X-Amz-Signature`, `x-amz-signature` and `%58-Amz-Signature` are all caught.
 */

/** Redacted unless the config says otherwise: presigned URLs, OAuth and SAS tokens, secrets. */
export const DEFAULT_REDACTED_QUERY = [
  'x-amz-signature', 'x-amz-credential', 'x-amz-security-token', 'access_token', 'id_token', 'refresh_token', 'code',
  'client_secret', 'client_assertion', 'sig', 'signature', 'token', 'password', 'api_key', 'apikey', 'key', 'state', 'nonce',
];

const REDACTED = 'REDACTED';

function nameOf(pair: string): string {
  const eq = pair.indexOf('=');
  const raw = eq === -1 ? pair : pair.slice(0, eq);
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' ')).toLowerCase();
  } catch {
    return raw.toLowerCase();
  }
}

/** A function giving the query as audited: `redact` names (added to the defaults) keep the name and lose the value. */
export function queryRedactor(redact: readonly string[] = [], defaults = true): (query: string) => string {
  const names = new Set([...(defaults ? DEFAULT_REDACTED_QUERY : []), ...redact.map((n) => n.toLowerCase())]);
  return (query) => {
    if (query === '') return query;
    let out = '';
    let changed = false;
    for (const pair of query.split('&')) {
      const eq = pair.indexOf('=');
      const hide = eq !== -1 && names.has(nameOf(pair));
      changed ||= hide;
      out += (out === '' ? '' : '&') + (hide ? `${pair.slice(0, eq)}=${REDACTED}` : pair);
    }
    return changed ? out : query;
  };
}
