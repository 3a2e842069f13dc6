/** Parsers for the duration, size and rate strings the schema admits. Called at compile time only. */

const DURATION = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)$/;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30s` → 30000 (milliseconds). Throws a message naming the expected form. */
export function parseDuration(text: string): number {
  const m = DURATION.exec(text.trim());
  if (!m) throw new Error(`expected a duration such as 250ms, 30s, 5m, 1h or 1d, got "${text}"`);
  return Math.round(Number(m[1]) * DURATION_MS[m[2]!]!);
}

/** `0.5ms` → 0.5, `10s` → 10000: a duration in milliseconds, not rounded (limit floors are checked on it); undefined if `text` is no duration. */
export function periodMs(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  return m ? Number(m[1]) * DURATION_MS[m[2]!]! : undefined;
}

const SIZE = /^([0-9]+(?:\.[0-9]+)?)(b|kb|mb|gb|kib|mib|gib)$/i;
const SIZE_BYTES: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** `10mb` → 10000000 (bytes). */
export function parseSize(text: string): number {
  const m = SIZE.exec(text.trim());
  if (!m) throw new Error(`expected a size such as 512b, 16kb, 10mb or 1gib, got "${text}"`);
  return Math.round(Number(m[1]) * SIZE_BYTES[m[2]!.toLowerCase()]!);
}

const RATE = /^([0-9]+(?:\.[0-9]+)?)\/(ms|s|m|h|d|[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h|d))$/;

/** `50/s` → { count: 50, perMs: 1000 }; `100/10s` → { count: 100, perMs: 10000 }. */
export function parseRate(text: string): { count: number; perMs: number } {
  const m = RATE.exec(text.trim());
  if (!m) throw new Error(`expected a rate such as 50/s, 1000/m or 100/10s, got "${text}"`);
  const unit = m[2]!;
  const perMs = unit in DURATION_MS ? DURATION_MS[unit]! : parseDuration(unit);
  const count = Number(m[1]);
  if (count <= 0 || perMs <= 0) throw new Error(`expected a positive rate, got "${text}"`);
  return { count, perMs };
}
