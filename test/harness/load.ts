import { Pool } from 'undici';

/**
 * Send GETs as fast as `connections` parallel loops allow for `ms` milliseconds (bounded in time and
 * count), and count statuses. Loopback only.
 */
export async function hammer(base: string, path: string, headers: Record<string, string>, ms: number, connections = 8, maxRequests = 200_000): Promise<Map<number, number> & { elapsedMs?: number }> {
  const pool = new Pool(base, { connections });
  const counts: Map<number, number> & { elapsedMs?: number } = new Map<number, number>();
  const started = Date.now();
  const deadline = Date.now() + ms;
  let sent = 0;
  const loop = async (): Promise<void> => {
    while (Date.now() < deadline && sent < maxRequests) {
      sent++;
      const { statusCode, body } = await pool.request({ path, method: 'GET', headers });
      await body.dump();
      counts.set(statusCode, (counts.get(statusCode) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  counts.elapsedMs = Date.now() - started;
  await pool.close();
  return counts;
}

/** Send one GET every `intervalMs` for `ms` milliseconds and count statuses (a well-behaved caller). */
export async function trickle(base: string, path: string, headers: Record<string, string>, ms: number, intervalMs: number): Promise<Map<number, number>> {
  const pool = new Pool(base, { connections: 1 });
  const counts = new Map<number, number>();
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const { statusCode, body } = await pool.request({ path, method: 'GET', headers });
    await body.dump();
    counts.set(statusCode, (counts.get(statusCode) ?? 0) + 1);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  await pool.close();
  return counts;
}
