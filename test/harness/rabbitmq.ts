import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type Channel, type GetMessage } from 'amqplib';

/**
 * A throwaway RabbitMQ node of its own (own node name, ports, data and log directories), beside any
 * broker the machine already runs, so a test can SIGKILL it and start it again on the same data.
 */
export interface TestRabbitMq {
  readonly url: string;
  readonly port: number;
  /** Milliseconds the last start took until AMQP connections were accepted. */
  readonly startMs: number;
  /** SIGKILL the node's whole process group (no clean shutdown; idempotent). */
  kill(): Promise<void>;
  /** Stop the node cleanly (SIGTERM to the Erlang VM: it flushes its database and exits). */
  shutdown(): Promise<void>;
  /** Start the node again on the same ports and data directory. */
  start(): Promise<void>;
  /** Kill the node and delete its directory. */
  stop(): Promise<void>;
  /** Run `rabbitmqctl <args>` against this node; resolves with its output, rejects when it fails. */
  ctl(...args: string[]): Promise<string>;
}

const START_TIMEOUT_MS = 30_000;
/** Debian's real start script (its /usr/sbin wrapper re-runs itself as the rabbitmq user); `RABBITMQ_SERVER` overrides. */
const DEBIAN_SCRIPT = '/usr/lib/rabbitmq/bin/rabbitmq-server';
/** Process groups still running: killed if the test process exits without stopping them. */
const live = new Set<number>();
process.once('exit', () => { for (const pgid of live) killGroup(pgid); });

/** The start script to run, or undefined when RabbitMQ is not installed. */
export function rabbitMqServer(): string | undefined {
  if (process.env.RABBITMQ_SERVER !== undefined) return process.env.RABBITMQ_SERVER;
  if (existsSync(DEBIAN_SCRIPT)) return DEBIAN_SCRIPT;
  const onPath = (process.env.PATH ?? '').split(':').map((d) => join(d, 'rabbitmq-server')).find((p) => existsSync(p));
  return onPath;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** The node's environment: everything in `dir`, nothing read from the machine's /etc/rabbitmq. */
function nodeEnv(dir: string, name: string, port: number, distPort: number): NodeJS.ProcessEnv {
  const file = (f: string, text: string): string => {
    writeFileSync(join(dir, f), text);
    return join(dir, f);
  };
  mkdirSync(join(dir, 'home'), { recursive: true });
  return {
    PATH: process.env.PATH,
    HOME: join(dir, 'home'), // the node's .erlang.cookie
    LANG: 'C.UTF-8',
    RABBITMQ_CONF_ENV_FILE: file('rabbitmq-env.conf', ''),
    RABBITMQ_CONFIG_FILE: file('rabbitmq.conf', `listeners.tcp.default = 127.0.0.1:${port}\n`),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: file('enabled_plugins', '[].\n'),
    RABBITMQ_NODENAME: name,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    ERL_EPMD_ADDRESS: '127.0.0.1',
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
  };
}

async function waitForAmqp(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`rabbitmq-server exited with code ${child.exitCode}`);
    try {
      const model = await connect(url);
      model.on('error', () => undefined);
      await model.close();
      return;
    } catch {
      await sleep(100); // not accepting yet
    }
  }
  throw new Error(`RabbitMQ did not accept AMQP connections within ${START_TIMEOUT_MS} ms`);
}

/** Start a RabbitMQ node of the test's own (see TestRabbitMq); throws when it does not come up. */
export async function startRabbitMq(script: string): Promise<TestRabbitMq> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-rabbitmq-'));
  const [port, distPort] = [await freePort(), await freePort()];
  const name = `gh-test-${process.pid}@localhost`;
  const env = nodeEnv(dir, name, port, distPort);
  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let startMs = 0;

  async function kill(): Promise<void> {
    const c = child;
    if (c?.pid === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    killGroup(c.pid); // the script, beam.smp and its port programs; a shared epmd stays
    live.delete(c.pid);
    await exited;
  }

  async function shutdown(): Promise<void> {
    const c = child;
    if (c?.pid === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    // The start script waits for the VM, so its exit says the VM has stopped.
    process.kill(Number(readFileSync(env.RABBITMQ_PID_FILE!, 'utf8').trim()), 'SIGTERM');
    await Promise.race([exited, sleep(START_TIMEOUT_MS, undefined, { ref: false })]);
    await kill();
  }

  async function start(): Promise<void> {
    const began = Date.now();
    // detached: a process group of its own, so that kill() reaches beam.smp and its children.
    const c = spawn(script, [], { env, cwd: dir, detached: true, stdio: 'ignore' });
    c.on('error', () => undefined); // surfaces as an exit or a timeout
    child = c;
    if (c.pid !== undefined) live.add(c.pid);
    try {
      await waitForAmqp(url, c);
    } catch (err) {
      await kill();
      throw err;
    }
    startMs = Date.now() - began;
  }

  await start();
  return {
    url,
    port,
    get startMs() { return startMs; },
    kill,
    shutdown,
    start,
    ctl: (...args) => new Promise((resolve, reject) => {
      // rabbitmqctl sits beside the start script; it finds the node by name and the cookie in HOME.
      execFile(join(dirname(script), 'rabbitmqctl'), ['-n', name, ...args], { env, timeout: START_TIMEOUT_MS }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    }),
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A RabbitMQ node of the test's own, or undefined (after a loud skip message) when rabbitmq-server
 * is not installed; in CI its absence fails the suite. `what` names the suite in the message.
 */
export async function startOwnRabbitMq(what: string): Promise<TestRabbitMq | undefined> {
  const script = rabbitMqServer();
  if (script === undefined) {
    if (process.env.CI === 'true') throw new Error('rabbitmq-server is not installed');
    console.error(`\n!!! SKIPPING ${what}: rabbitmq-server is not installed\n`);
    return undefined;
  }
  return startRabbitMq(script);
}

/** The next message of `queue` on `ch` (acknowledged as taken), waiting up to a second for one; false when none came. */
export async function takeMessage(ch: Channel, queue: string): Promise<GetMessage | false> {
  for (let i = 0; i < 40; i++) {
    const m = await ch.get(queue, { noAck: true });
    if (m !== false) return m;
    await sleep(25);
  }
  return false;
}
