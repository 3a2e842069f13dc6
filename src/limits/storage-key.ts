/**
 * Storage keys for limit state. Caller keys come from requests (client ids, IPs, claims), so they
 * are bounded in length and, for Redis, escaped so they cannot break Redis Cluster hash tags.
 */
import { createHash } from 'node:crypto';

/** Caller keys longer than this are replaced by their SHA-256 so state keys stay small. */
export const MAX_KEY_CHARS = 200;

// Redis keys escape '%', so they never start with the "%H" that marks a hashed key; memory keys
// that happen to start with it are hashed too, so a short key cannot pose as a hashed long one.
const ESCAPES: Record<string, string> = { '%': '%25', '{': '%7B', '}': '%7D', ':': '%3A' };
const NEEDS_ESCAPE = /[%{}]/g;
const NEEDS_ESCAPE_ID = /[%{}:]/g;

/** A caller key of bounded length: long ones become `%H<sha256 hex>` (unambiguous, see above). */
export function boundedKey(key: string): string {
  const hash = key.length > MAX_KEY_CHARS || key.startsWith('%H');
  return hash ? `%H${createHash('sha256').update(key).digest('hex')}` : key;
}

function escapeKey(key: string, pattern: RegExp): string {
  return key.replace(pattern, (c) => ESCAPES[c] ?? c);
}

/**
 * The hash-tagged part `{id:key}` of a Redis key: both limit state keys of one caller share a
 * cluster slot. `:` is escaped in the id so the split between id and key is unambiguous.
 */
export function redisTag(id: string, key: string): string {
  const safeKey = escapeKey(key, NEEDS_ESCAPE);
  return `{${escapeKey(id, NEEDS_ESCAPE_ID)}:${boundedKey(safeKey)}}`;
}
