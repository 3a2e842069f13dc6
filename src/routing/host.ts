/** Lower-case, strip port and trailing dot; handles IPv6 `[::1]:8080`. */
export function normalizeHost(hostHeader: string | undefined): string {
  if (hostHeader === undefined) return '';
  let host = hostHeader.trim().toLowerCase();
  if (host.charCodeAt(0) === 0x5b) {
    // IPv6 literal: the port (if any) follows the closing bracket; keep the brackets so `[::1]` in
    // config and in the Host header compare equal.
    const close = host.indexOf(']');
    return close === -1 ? host : host.slice(0, close + 1);
  }
  const colon = host.indexOf(':');
  if (colon !== -1) host = host.slice(0, colon);
  // `example.com.` is the same (fully-qualified) name as `example.com`.
  return host.endsWith('.') ? host.slice(0, -1) : host;
}
