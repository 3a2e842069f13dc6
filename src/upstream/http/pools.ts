import { Pool } from 'undici';

/** What makes two routes' connections interchangeable: origin, TLS trust, SNI, timeouts, size. */
export interface PoolSettings {
  readonly origin: string;
  readonly connections: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly ca?: string;
  readonly servername?: string;
}

/**
 * Keep-alive pools shared by every route with the same upstream settings, so 10,000 routes to one
 * backend hold one pool (and one `connections` budget), not 10,000.
 */
export class UpstreamPools {
  readonly #pools = new Map<string, Pool>();

  /** The pool for these settings, created on first use. */
  get(s: PoolSettings): Pool {
    const key = JSON.stringify([s.origin, s.connections, s.headersTimeoutMs, s.bodyTimeoutMs, s.connectTimeoutMs, s.ca ?? null, s.servername ?? null]);
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      pool = new Pool(s.origin, {
        connections: s.connections,
        headersTimeout: s.headersTimeoutMs,
        bodyTimeout: s.bodyTimeoutMs,
        connect: { timeout: s.connectTimeoutMs, ...(s.ca !== undefined ? { ca: s.ca } : {}), ...(s.servername !== undefined ? { servername: s.servername } : {}) },
      });
      this.#pools.set(key, pool);
    }
    return pool;
  }

  get size(): number {
    return this.#pools.size;
  }

  /** Close every pool once its in-flight requests finish. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#pools.values()].map((p) => p.close()));
    this.#pools.clear();
  }
}
