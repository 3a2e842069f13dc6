import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** Kills the server (idempotent); its data is gone (no persistence). */
  stop(): Promise<void>;
  /** Starts a fresh, empty server on the same port. */
  restart(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;
/** Children still running: killed if the test process exits without stopping them. */
const live = new Set<ChildProcess>();
process.once('exit', () => { for (const child of live) child.kill('SIGKILL'); });

/** A port that was free a moment ago: bind port 0, read it, release it. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves when the server on `port` answers PING; rejects if `child` exits or it takes too long. */
export async function waitForPing(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch {
      // not listening yet
    } finally {
      client.disconnect();
    }
    await sleep(50);
  }
  throw new Error(`redis-server did not answer PING on port ${port} within ${START_TIMEOUT_MS} ms`);
}

/** A redis-server child without persistence on `port` (killed if the test process exits); `extra` adds options. */
export function spawnRedis(port: number, extra: readonly string[] = []): ChildProcess {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...extra];
  const child = spawn(process.env.REDIS_SERVER ?? 'redis-server', args, { stdio: 'ignore' });
  child.on('error', () => undefined); // surfaces as a failed PING (e.g. ENOENT)
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** SIGKILL the child and wait for it to exit (idempotent). */
export async function kill(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

/** A throwaway redis-server child on a free port (or `port`), for outage tests; `REDIS_SERVER` overrides the binary. */
export async function startRedis(port?: number): Promise<TestRedis> {
  const p = port ?? (await freePort());
  let child = spawnRedis(p);
  try {
    await waitForPing(p, child);
  } catch (err) {
    await kill(child);
    throw err;
  }
  return {
    url: `redis://127.0.0.1:${p}`,
    port: p,
    stop: () => kill(child),
    async restart() {
      await kill(child);
      child = spawnRedis(p);
      await waitForPing(p, child);
    },
  };
}
