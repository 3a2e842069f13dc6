import type { IncomingHttpHeaders } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { parseForwarded } from './forwarded-header.js';
import { ipFamily, normalizeIp } from './ip.js';

/** Who sent the request, as far as the trusted proxies in front of us vouch for it. */
export interface ClientInfo {
  /** Client address (IPv4-mapped IPv6 unwrapped to plain IPv4). */
  readonly address: string;
  readonly proto: 'http' | 'https';
  /** Original Host (or a trusted X-Forwarded-Host / Forwarded host=); '' when the request had none. */
  readonly host: string;
  /** Chain to send upstream: the client first, then each trusted hop, ending with the address we saw. */
  readonly forwardedFor: readonly string[];
}

/** The `trustedProxies` list, compiled. */
export interface TrustedProxies {
  isTrusted(address: string): boolean;
}

const NOTHING_TRUSTED: TrustedProxies = { isTrusted: () => false };
const HOST = /^(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/** Compile IPs and CIDRs (v4 and v6) into a matcher; throws naming the first entry that is neither. */
export function compileTrustedProxies(list: readonly string[]): TrustedProxies {
  if (list.length === 0) return NOTHING_TRUSTED;
  const blocks = new BlockList();
  for (const entry of list) addEntry(blocks, entry);
  return {
    isTrusted(address) {
      const ip = normalizeIp(address);
      // BlockList matches ::ffff:a.b.c.d against IPv4 rules and vice versa, so one check suffices.
      return ip !== undefined && blocks.check(ip, ipFamily(ip));
    },
  };
}

function addEntry(blocks: BlockList, entry: string): void {
  const slash = entry.indexOf('/');
  const address = (slash < 0 ? entry : entry.slice(0, slash)).trim();
  const family = isIP(address);
  if (family === 0) throw new Error(`trustedProxies: "${entry}" is not an IP address or CIDR`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (slash < 0) {
    blocks.addAddress(address, type);
    return;
  }
  const bits = entry.slice(slash + 1).trim();
  const prefix = Number(bits);
  if (!/^[0-9]{1,3}$/.test(bits) || prefix > (family === 4 ? 32 : 128)) {
    throw new Error(`trustedProxies: "${entry}" has an invalid prefix length`);
  }
  blocks.addSubnet(address, prefix, type);
}

/**
 * Work out the client. Forwarding headers are honoured only when the socket peer is trusted;
 * from anyone else they are ignored (and buildUpstreamHeaders discards them).
 */
export function resolveClient(socketAddress: string, tls: boolean, headers: IncomingHttpHeaders, trusted: TrustedProxies): ClientInfo {
  const peer = normalizeIp(socketAddress) ?? socketAddress;
  const proto = tls ? 'https' : 'http';
  const host = headers.host ?? '';
  if (!trusted.isTrusted(peer)) return { address: peer, proto, host, forwardedFor: [peer] };
  // X-Forwarded-For is what most deployed proxies (nginx, ALB, Cloudflare) set, so it wins when both are present.
  const xff = joined(headers['x-forwarded-for']);
  const forwarded = joined(headers.forwarded);
  if (xff === undefined && forwarded !== undefined) return fromForwarded(peer, proto, host, forwarded, trusted);
  const hops = xff === undefined ? [] : splitList(xff).map((hop) => normalizeIp(hop));
  const found = walk(hops, peer, trusted);
  return {
    address: found.address,
    proto: asProto(pick(headers['x-forwarded-proto'], found.index, hops.length)) ?? proto,
    host: asHost(pick(headers['x-forwarded-host'], found.index, hops.length)) ?? host,
    forwardedFor: found.chain,
  };
}

function fromForwarded(peer: string, proto: 'http' | 'https', host: string, header: string, trusted: TrustedProxies): ClientInfo {
  const elements = parseForwarded(header);
  // A malformed header from a trusted proxy vouches for nothing: the client is the proxy itself.
  if (elements === undefined) return { address: peer, proto, host, forwardedFor: [peer] };
  const found = walk(elements.map((e) => (e.for === undefined ? undefined : normalizeIp(e.for))), peer, trusted);
  // The element naming the client was added by the first trusted proxy, describing the request it got.
  const element = elements[found.index];
  return {
    address: found.address,
    proto: asProto(element?.proto) ?? proto,
    host: asHost(element?.host) ?? host,
    forwardedFor: found.chain,
  };
}

/**
 * Walk the hops right to left, starting from the (trusted) peer, while the current address is
 * trusted. The first untrusted address is the client; an unparseable hop stops the walk at the
 * last address we could verify. `index` is the client's position in `hops` (hops.length: the peer).
 */
function walk(hops: readonly (string | undefined)[], peer: string, trusted: TrustedProxies): { address: string; index: number; chain: string[] } {
  let index = hops.length;
  let address = peer;
  while (index > 0 && trusted.isTrusted(address)) {
    const previous = hops[index - 1];
    if (previous === undefined) break;
    index -= 1;
    address = previous;
  }
  const chain = hops.slice(index) as string[];
  chain.push(peer);
  return { address, index, chain };
}

/** Node joins repeated headers itself (except a few); arrays are handled for robustness. */
function joined(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

function splitList(value: string): string[] {
  return value.split(',').map((part) => part.trim());
}

/**
 * The X-Forwarded-Proto/-Host value for the client hop: index-aligned with X-Forwarded-For when
 * the proxies appended one value per hop, otherwise the rightmost (set by the nearest proxy).
 */
function pick(header: string | string[] | undefined, index: number, hopCount: number): string | undefined {
  const text = joined(header);
  if (text === undefined) return undefined;
  const values = splitList(text);
  if (values.length === hopCount && index < hopCount) return values[index];
  return values[values.length - 1];
}

function asProto(value: string | undefined): 'http' | 'https' | undefined {
  const lower = value?.toLowerCase();
  return lower === 'http' || lower === 'https' ? lower : undefined;
}

function asHost(value: string | undefined): string | undefined {
  return value !== undefined && HOST.test(value) ? value : undefined;
}
