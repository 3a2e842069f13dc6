import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';

/** The shared Redis the suites use (each run under its own key prefix). */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function ping(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Missing Redis fails the suite in CI; locally it skips, loudly. Returns whether to run. */
function gate(ok: boolean, what: string): boolean {
  if (ok) return true;
  if (process.env.CI === 'true') throw new Error(`${what} is required in CI and is missing`);
  console.warn(`\n!!! SKIPPING Redis limit tests: ${what} is missing !!!\n`);
  return false;
}

/** Whether the shared Redis at REDIS_URL answers PING (see `gate`). */
export async function redisAvailable(): Promise<boolean> {
  return gate(await ping(REDIS_URL), `Redis at ${REDIS_URL} (set REDIS_URL or start redis-server)`);
}

/** Whether the `redis-server` binary can be started by test/harness/redis.ts (see `gate`). */
export function redisServerAvailable(): boolean {
  const bin = process.env.REDIS_SERVER ?? 'redis-server';
  return gate(spawnSync(bin, ['--version']).status === 0, `the ${bin} binary`);
}

/** Whether `redis-server` and `redis-cli` (for `--cluster create`) can be run (see `gate`). */
export function redisClusterAvailable(): boolean {
  const cli = process.env.REDIS_CLI ?? 'redis-cli';
  return redisServerAvailable() && gate(spawnSync(cli, ['--version']).status === 0, `the ${cli} binary`);
}
