/**
 * Session cookies: `__Host-<name>.0`, `.1`, … each under 4 KB with its attributes, always `Secure`,
 * `HttpOnly`, `SameSite=Lax`, `Path=/` (the `__Host-` prefix makes browsers insist on those and on
 * no `Domain`). A sealed value is split across chunks and joined again in index order; a missing,
 * extra or reordered chunk leaves a string that does not decrypt.
 */

/** Characters of a cookie value per chunk: the whole Set-Cookie line stays well under 4096 bytes. */
export const CHUNK_SIZE = 3800;
/** Most chunks read or written (a sealed session larger than this is refused when sealing). */
export const MAX_CHUNKS = 8;

const ATTRIBUTES = '; Path=/; Secure; HttpOnly; SameSite=Lax';

/** The cookies of a request by name (the first of a name wins; values are not decoded: ours are base64url). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (header === undefined) return out;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const name = pair.slice(0, eq).trim();
    if (!out.has(name)) out.set(name, pair.slice(eq + 1).trim());
  }
  return out;
}

/** The full cookie name of chunk `i` of base name `base`. */
export const chunkName = (base: string, i: number): string => `__Host-${base}.${i}`;

/** The joined chunks `.0 … .n` present (consecutive from 0), or undefined when `.0` is absent. */
export function readChunks(cookies: ReadonlyMap<string, string>, base: string): string | undefined {
  const first = cookies.get(chunkName(base, 0));
  if (first === undefined) return undefined;
  let value = first;
  for (let i = 1; i < MAX_CHUNKS; i++) {
    const next = cookies.get(chunkName(base, i));
    if (next === undefined) break;
    value += next;
  }
  return value;
}

/** One Set-Cookie line. */
export function setCookie(name: string, value: string, maxAgeSec: number): string {
  return `${name}=${value}${ATTRIBUTES}; Max-Age=${Math.max(0, Math.floor(maxAgeSec))}`;
}

/** A line that deletes `name`. */
export const clearCookie = (name: string): string => `${name}=${ATTRIBUTES}; Max-Age=0`;

/** Set-Cookie lines for `value` in chunks, deleting chunks the request had beyond the new count. */
export function chunkedCookies(base: string, value: string, maxAgeSec: number, present: ReadonlyMap<string, string>): string[] {
  const count = Math.ceil(value.length / CHUNK_SIZE);
  if (count > MAX_CHUNKS) throw new Error(`session is too large for ${MAX_CHUNKS} cookies`);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(setCookie(chunkName(base, i), value.slice(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE), maxAgeSec));
  for (let i = count; i < MAX_CHUNKS; i++) if (present.has(chunkName(base, i))) lines.push(clearCookie(chunkName(base, i)));
  return lines;
}

/** Set-Cookie lines deleting every chunk of `base` that the request sent. */
export function clearChunks(base: string, present: ReadonlyMap<string, string>): string[] {
  const lines: string[] = [];
  for (let i = 0; i < MAX_CHUNKS; i++) if (present.has(chunkName(base, i))) lines.push(clearCookie(chunkName(base, i)));
  return lines.length > 0 ? lines : [clearCookie(chunkName(base, 0))];
}
