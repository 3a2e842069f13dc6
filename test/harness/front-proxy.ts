/** A real proxy (nginx, Caddy) started by a test as its child, in front of a gateway: find it, start it, stop it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { delimiter, join } from 'node:path';
import assert from 'node:assert/strict';
import type { TestGateway } from './gateway.js';
import { rawRequest } from './http.js';
import type { TestUpstream } from './upstream.js';

/** The first of `candidates` (absolute paths) or of `name` on PATH that exists; undefined when none does. */
export function findBinary(name: string, candidates: readonly string[] = []): string | undefined {
  return [...candidates, ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, name))].find((p) => existsSync(p));
}

/** A port nobody listens on right now (for a proxy whose config names its port). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Start `bin args` and wait until it accepts connections on 127.0.0.1:`port`; `log` is read into the error when it fails. */
export async function startFrontProxy(bin: string, args: readonly string[], port: number, log?: string, env?: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(env ? { env } : {}) });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  const why = (): string => `${stderr.slice(-2000)} ${log !== undefined && existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : ''}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${bin} exited (${child.exitCode}): ${why()}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (up) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${bin} did not listen on ${port}: ${why()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Stop the child with `signal` and wait for it to exit. */
export async function stopFrontProxy(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

/**
 * The allowed case through a front proxy doing forward-auth: `GET /orders/7?expand=lines` with the
 * reader's key reaches `app` with the identity headers the proxy copied from Gatehouse's answer,
 * Gatehouse itself forwards nothing (`unused` saw nothing), and its audit line is a forward-auth
 * decision for the original path. Returns that audit line for proxy-specific checks.
 */
export async function expectAllowedThrough(base: string, readerKey: string, gw: TestGateway, app: TestUpstream, unused: TestUpstream): Promise<Record<string, unknown> | undefined> {
  const res = await rawRequest(base, 'GET', '/orders/7?expand=lines', { 'x-api-key': readerKey });
  assert.equal(res.status, 200, res.body);
  const seen = app.seen.at(-1)!;
  assert.equal(seen.url, '/orders/7?expand=lines');
  assert.equal(seen.headers['x-gatehouse-subject'], 'reader-co');
  assert.equal(seen.headers['x-gatehouse-roles'], 'reader');
  assert.match(String(seen.headers['x-gatehouse-assertion']), /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
  const line = await gw.auditLine((l) => l.forward_auth === true && l.route === 'orders' && l.status === 200);
  assert.equal(line?.path, '/orders/7');
  assert.equal(unused.seen.length, 0, 'Gatehouse itself forwards nothing');
  return line;
}
