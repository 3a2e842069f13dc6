/**
 * RFC 7239 `Forwarded` header: parsing the list a trusted proxy sent, and formatting the one we
 * send. Kept apart from client.ts because the grammar (tokens, quoted-strings, `,` and `;`) is
 * fiddly and deserves its own tests.
 */

/** The parameters of one forwarded-element that Gatehouse uses (`by=` and extensions are ignored). */
export interface ForwardedElement {
  for?: string;
  proto?: string;
  host?: string;
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;
const WHOLE_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Parse a `Forwarded` value into its elements, left to right; undefined when it is malformed. */
export function parseForwarded(header: string): ForwardedElement[] | undefined {
  const out: ForwardedElement[] = [];
  let element: ForwardedElement = {};
  const seen = new Set<string>();
  let i = 0;
  for (;;) {
    i = skipWhitespace(header, i);
    if (i < header.length && header[i] !== ',' && header[i] !== ';') {
      const name = readToken(header, i);
      if (name === undefined || header[i + name.length] !== '=') return undefined;
      const value = readValue(header, i + name.length + 1);
      if (value === undefined) return undefined;
      const key = name.toLowerCase();
      // RFC 7239 §4: a parameter MUST NOT occur more than once per element; such a header is ambiguous.
      if (seen.has(key)) return undefined;
      seen.add(key);
      if (key === 'for' || key === 'proto' || key === 'host') element[key] = value.text;
      i = skipWhitespace(header, value.end);
    }
    if (i >= header.length) {
      out.push(element);
      return out;
    }
    if (header[i] === ',') {
      out.push(element);
      element = {};
      seen.clear();
    } else if (header[i] !== ';') {
      return undefined;
    }
    i += 1;
  }
}

function skipWhitespace(s: string, i: number): number {
  while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i += 1;
  return i;
}

function readToken(s: string, i: number): string | undefined {
  TOKEN.lastIndex = i;
  return TOKEN.exec(s)?.[0];
}

function readValue(s: string, i: number): { text: string; end: number } | undefined {
  if (s[i] !== '"') {
    const token = readToken(s, i);
    return token === undefined ? undefined : { text: token, end: i + token.length };
  }
  let text = '';
  for (let j = i + 1; j < s.length; j += 1) {
    const c = s[j]!;
    if (c === '"') return { text, end: j + 1 };
    if (c === '\\') {
      j += 1;
      if (j >= s.length) return undefined;
      text += s[j];
    } else {
      text += c;
    }
  }
  return undefined;
}

/** A value as a token when it is one, else as a quoted-string. */
export function forwardedValue(value: string): string {
  return WHOLE_TOKEN.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/** A node (`for=`) value: IPv6 addresses are bracketed and therefore quoted (RFC 7239 §6). */
export function forwardedNode(address: string): string {
  return address.includes(':') ? `"[${address}]"` : forwardedValue(address);
}
