/**
 * Return URLs after sign-in: only a same-origin relative path is ever redirected to. Anything a
 * browser could read as another origin (`//evil`, `/\evil`, `https://…`, control characters,
 * encoded slashes or backslashes at the start) is refused rather than repaired.
 */

const BASE = 'http://gatehouse.invalid';

/** The path (with query) to send the browser back to, or undefined when `target` is not a safe same-origin path. */
export function safeReturnPath(target: string | undefined | null): string | undefined {
  if (typeof target !== 'string' || target.length === 0 || target.length > 2048) return undefined;
  if (target[0] !== '/' || target[1] === '/' || target[1] === '\\') return undefined;
  // Backslashes and controls are read as slashes or dropped by browsers' URL parsers.
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x5c) return undefined;
  }
  // An encoded / or \ right after the first slash turns into `//` at some decoder in front of a backend.
  if (/^\/(%2f|%5c)/i.test(target)) return undefined;
  let url: URL;
  try {
    url = new URL(target, BASE);
  } catch {
    return undefined;
  }
  // Dot segments can collapse into `//host` (`/a/..//evil`): judge what a browser would request.
  if (url.origin !== BASE || url.pathname.startsWith('//')) return undefined;
  return `${url.pathname}${url.search}`;
}
