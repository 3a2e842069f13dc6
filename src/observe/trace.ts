import { randomFillSync } from 'node:crypto';

// Random ids come from a refilled pool: one getrandom call per ~170 requests instead of several each.
const pool = Buffer.alloc(4096);
let offset = pool.length;

function randomHex(bytes: number): string {
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

/**
 * The W3C traceparent to send upstream: the inbound trace id (when valid, not all zeros) with a new
 * span id for this hop, else a new trace.
 */
export function nextTraceparent(inbound: string | undefined): string {
  if (inbound !== undefined) {
    const m = TRACEPARENT.exec(inbound.trim());
    if (m && m[1] !== '00000000000000000000000000000000' && m[2] !== '0000000000000000') return `00-${m[1]}-${randomHex(8)}-${m[3]}`;
  }
  return `00-${randomHex(16)}-${randomHex(8)}-01`;
}
