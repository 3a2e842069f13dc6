import { randomFillSync } from 'node:crypto';

// Random ids come from a refilled pool: one getrandom call per ~170 requests instead of several each.
const pool = Buffer.alloc(4096);
let offset = pool.length;

export function randomHex(bytes: number): string {
  if (offset + bytes > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + bytes);
  offset += bytes;
  return hex;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A request id: 16 random bytes as hex. */
export function newRequestId(): string {
  return randomHex(16);
}

/** A W3C traceparent's parts, when it is valid (version 00, ids not all zeros). */
export function parseTraceparent(inbound: string | undefined): { traceId: string; spanId: string; flags: string } | undefined {
  if (inbound === undefined) return undefined;
  const m = TRACEPARENT.exec(inbound.trim());
  return m && m[1] !== '00000000000000000000000000000000' && m[2] !== '0000000000000000' ? { traceId: m[1]!, spanId: m[2]!, flags: m[3]! } : undefined;
}

/**
 * The W3C traceparent to send upstream (tracing off): the inbound trace id (when valid) with a new
 * span id for this hop, else a new trace.
 */
export function nextTraceparent(inbound: string | undefined): string {
  const parent = parseTraceparent(inbound);
  return parent !== undefined ? `00-${parent.traceId}-${randomHex(8)}-${parent.flags}` : `00-${randomHex(16)}-${randomHex(8)}-01`;
}
