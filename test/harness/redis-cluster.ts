import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort, kill, spawnRedis, waitForPing } from './redis.js';

const run = promisify(execFile);
const HEALTHY_TIMEOUT_MS = 30_000;

/** A Redis Cluster of three masters with one replica each, started by the test. */
export interface TestCluster {
  /** `redis://127.0.0.1:<port>` of every node started. */
  readonly nodes: readonly string[];
  /** Ports of the nodes now serving slots as masters (asked of a live node). */
  masters(): Promise<number[]>;
  /** Port of the master now serving `key`'s slot. */
  masterOf(key: string): Promise<number>;
  /** A client on one node (the caller disconnects it). */
  client(port: number): Redis;
  /** SIGKILL one node (its data is gone; no persistence). */
  kill(port: number): Promise<void>;
  /** SIGKILL the master on `port`, then run `round` again and again until the cluster is healthy (its replica promoted). */
  failOver(port: number, round: () => Promise<void>): Promise<void>;
  /** Resolves when every live node says cluster_state:ok and every slot is served by a live master. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Kills every node and removes the temp dir (idempotent). */
  stop(): Promise<void>;
}

/** The `redis-cli` binary (`REDIS_CLI` overrides). */
export const redisCli = (): string => process.env.REDIS_CLI ?? 'redis-cli';

interface Node { port: number; child: ChildProcess; alive: boolean }

/** Two free ports per node: data and cluster bus (`cluster-port`, so port + 10000 need not be free). */
async function spawnNode(dir: string, fullCoverage: boolean): Promise<Node> {
  const port = await freePort();
  const bus = await freePort();
  const child = spawnRedis(port, [
    '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '1000',
    '--cluster-port', String(bus), '--dir', dir, '--cluster-require-full-coverage', fullCoverage ? 'yes' : 'no',
  ]);
  await waitForPing(port, child);
  return { port, child, alive: true };
}

/**
 * Six redis-server processes in a temp dir joined by `redis-cli --cluster create … --cluster-replicas 1`.
 * `fullCoverage` (Redis's default, yes): while any slot has no master, every node refuses every key
 * (CLUSTERDOWN); `false`: the other masters keep serving their slots.
 */
export async function startCluster(opts: { fullCoverage?: boolean } = {}): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cluster-'));
  const nodes: Node[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => kill(n.child)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 6; i++) nodes.push(await spawnNode(dir, opts.fullCoverage ?? true));
    await run(redisCli(), ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'], { timeout: HEALTHY_TIMEOUT_MS });
  } catch (err) {
    await stop();
    throw err;
  }
  const client = (port: number): Redis => {
    const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => undefined);
    return c;
  };
  /** CLUSTER SLOTS of a live node: [start, end, master port][]. */
  const slots = async (): Promise<[number, number, number][]> => {
    const live = nodes.find((n) => n.alive)!;
    const c = client(live.port);
    try {
      const reply = (await c.cluster('SLOTS')) as unknown as [number, number, [string, number, ...unknown[]]][];
      return reply.map(([start, end, master]) => [start, end, master[1]]);
    } finally {
      c.disconnect();
    }
  };
  const healthy = async (): Promise<boolean> => {
    for (const n of nodes.filter((x) => x.alive)) {
      const c = client(n.port);
      try {
        if (!/cluster_state:ok/.test(String(await c.cluster('INFO')))) return false;
        const ranges = (await c.cluster('SLOTS')) as unknown as [number, number, [string, number, ...unknown[]]][];
        const covered = ranges.reduce((sum, [start, end]) => sum + end - start + 1, 0);
        const alive = ranges.every(([, , master]) => nodes.some((x) => x.alive && x.port === master[1]));
        if (covered !== 16384 || !alive) return false;
      } catch {
        return false;
      } finally {
        c.disconnect();
      }
    }
    return true;
  };
  const cluster: TestCluster = {
    nodes: nodes.map((n) => `redis://127.0.0.1:${n.port}`),
    async masters() {
      return [...new Set((await slots()).map(([, , port]) => port))];
    },
    async masterOf(key) {
      const live = nodes.find((n) => n.alive)!;
      const c = client(live.port);
      const slot = Number(await c.cluster('KEYSLOT', key).finally(() => c.disconnect()));
      return (await slots()).find(([start, end]) => slot >= start && slot <= end)![2];
    },
    client,
    async kill(port) {
      const node = nodes.find((n) => n.port === port)!;
      node.alive = false;
      await kill(node.child);
    },
    async failOver(port, round) {
      await cluster.kill(port);
      const healthy = cluster.waitHealthy();
      let done = false;
      healthy.then(() => { done = true; }, () => { done = true; });
      while (!done) {
        await round();
        await sleep(20);
      }
      await healthy;
    },
    async waitHealthy(timeoutMs = HEALTHY_TIMEOUT_MS) {
      const deadline = Date.now() + timeoutMs;
      while (!(await healthy())) {
        if (Date.now() > deadline) throw new Error(`the Redis Cluster was not healthy within ${timeoutMs} ms`);
        await sleep(100);
      }
    },
    stop,
  };
  /** Every master has an online replica (cluster_state:ok comes before the first sync ends). */
  const replicated = async (): Promise<boolean> => {
    for (const port of await cluster.masters()) {
      const c = client(port);
      const info = await c.info('replication').catch(() => '').finally(() => c.disconnect());
      if (!/state=online/.test(info)) return false;
    }
    return true;
  };
  try {
    await cluster.waitHealthy();
    const deadline = Date.now() + HEALTHY_TIMEOUT_MS;
    while (!(await replicated())) {
      if (Date.now() > deadline) throw new Error(`the Redis Cluster replicas did not sync within ${HEALTHY_TIMEOUT_MS} ms`);
      await sleep(100);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return cluster;
}
