import { isIP } from 'node:net';

const PORT = /^:[0-9]{1,5}$/;
const MAPPED_PREFIX = '::ffff:';

/**
 * Canonical form of an address taken from a socket or a forwarding header: brackets and a port
 * removed, IPv4-mapped IPv6 (`::ffff:1.2.3.4`) unwrapped to plain IPv4. Undefined when not an IP.
 */
export function normalizeIp(text: string): string | undefined {
  let s = text.trim();
  let family = isIP(s);
  if (family === 0) {
    s = stripPort(s);
    family = isIP(s);
    if (family === 0) return undefined;
  }
  // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d; upstreams and audit want a.b.c.d.
  if (family === 6 && s.length > MAPPED_PREFIX.length && s.slice(0, MAPPED_PREFIX.length).toLowerCase() === MAPPED_PREFIX) {
    const v4 = s.slice(MAPPED_PREFIX.length);
    if (isIP(v4) === 4) return v4;
  }
  return s;
}

/** `[v6]`, `[v6]:port` → `v6`; `a.b.c.d:port` → `a.b.c.d`; anything else is returned unchanged. */
function stripPort(s: string): string {
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0) return s;
    const rest = s.slice(end + 1);
    return rest === '' || PORT.test(rest) ? s.slice(1, end) : s;
  }
  const colon = s.lastIndexOf(':');
  if (colon > 0 && PORT.test(s.slice(colon)) && isIP(s.slice(0, colon)) === 4) return s.slice(0, colon);
  return s;
}

/** The BlockList family name for an already-normalized address. */
export function ipFamily(address: string): 'ipv4' | 'ipv6' {
  return isIP(address) === 4 ? 'ipv4' : 'ipv6';
}
