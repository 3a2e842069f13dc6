/** NATS JetStream for the broker suites: reading a stream the way a consumer does, and a throwaway nats-server. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NodeConnectionOptions } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import { freePort } from './redis.js';

/** Every message in `stream`, oldest first, through an ordered consumer (empty after waiting `expiresMs` for one). */
export async function readStream(js: JetStreamClient, stream: string, expiresMs = 1000): Promise<JsMsg[]> {
  const consumer = await js.consumers.get(stream);
  const out: JsMsg[] = [];
  for (;;) {
    const batch = await consumer.fetch({ max_messages: 1000, expires: expiresMs });
    let last: JsMsg | undefined;
    for await (const m of batch) {
      out.push((last = m));
      if (m.info.pending === 0) break;
    }
    if (last === undefined || last.info.pending === 0) return out;
  }
}

export interface TestNatsServer {
  readonly url: string;
  /** SIGKILL the server: no shutdown, no flush beyond what it already wrote. */
  kill(): Promise<void>;
  /** SIGSTOP it: connections stay open, nothing is answered (until kill). */
  pause(): void;
  /** Start it again on the same port and JetStream store directory; resolves once JetStream answers. */
  start(): Promise<void>;
  /** Kill it and remove its store. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 15_000;
const live = new Set<ChildProcess>();
process.once('exit', () => { for (const child of live) child.kill('SIGKILL'); });

async function waitForJetStream(url: string, child: ChildProcess, client: NodeConnectionOptions): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with code ${child.exitCode}`);
    try {
      const nc = await connect({ ...client, servers: url, timeout: 500, reconnect: false });
      try {
        await (await jetstreamManager(nc)).getAccountInfo();
        return;
      } finally {
        await nc.close();
      }
    } catch {
      await sleep(50); // not listening, or JetStream not ready yet
    }
  }
  throw new Error(`nats-server JetStream did not answer at ${url} within ${START_TIMEOUT_MS} ms`);
}

/**
 * A nats-server child with JetStream file storage on a free port, with more server `args` (`--user`,
 * `--tls`…) and the `client` options that reach it; `NATS_SERVER` overrides the binary (found on PATH).
 */
export async function startNatsServer(args: readonly string[] = [], client: NodeConnectionOptions = {}): Promise<TestNatsServer> {
  const port = await freePort();
  const store = mkdtempSync(join(tmpdir(), 'gatehouse-nats-store-'));
  const url = `nats://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const kill = async (): Promise<void> => {
    const c = child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGKILL');
    await exited;
  };
  const start = async (): Promise<void> => {
    const c = spawn(process.env.NATS_SERVER ?? 'nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store, ...args], { stdio: 'ignore' });
    c.on('error', () => undefined); // surfaces as a failed wait (e.g. ENOENT)
    live.add(c);
    c.once('exit', () => live.delete(c));
    child = c;
    try {
      await waitForJetStream(url, c, client);
    } catch (err) {
      await kill();
      throw err;
    }
  };
  await start();
  return { url, kill, start, pause: () => child?.kill('SIGSTOP'), async stop() { await kill(); rmSync(store, { recursive: true, force: true }); } };
}
