// Shared by the benchmark scripts: child processes started and stopped together, one load run, and what
// bench/run.ts reads around a measurement (a process tree's CPU time and RSS, idle keep-alive connections,
// a proxied download, whether Redis answers).
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { connect, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const run = promisify(execFile);
const children: ChildProcess[] = [];

/** Path of a file next to the bench scripts. */
export const benchFile = (f: string): string => new URL(f, import.meta.url).pathname;

/** Start `node args…` and resolve with the first match of `ready` in its output, and the child's pid. */
export function startChild(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = process.env): Promise<RegExpMatchArray & { pid: number }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve(Object.assign(m, { pid: child.pid! }));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${out.slice(-500)}`)));
  });
}

/** Stop every child started by startChild. */
export function stopChildren(): void {
  for (const c of children) c.kill('SIGTERM');
}

/** The line a gateway logs once it listens. */
export const GATEWAY_READY = /"port":(\d+),"admin":(\d+)[^\n]*gatehouse listening/;

/** One run of bench/load.mjs; throws on any non-2xx answer (a benchmark of refusals measures nothing). */
export async function measureLoad(opts: Record<string, unknown>): Promise<number> {
  const { stdout } = await run(process.execPath, [benchFile('./load.mjs'), JSON.stringify(opts)], { maxBuffer: 1 << 20 });
  const r = JSON.parse(stdout) as { rps: number; non2xx: number };
  if (r.non2xx > 0) throw new Error(`${String(opts.url)}: ${r.non2xx} non-2xx responses`);
  return r.rps;
}

/** Median of the finite numbers in a list (mean of the middle two for an even count; NaN for none). */
export function median(xs: number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

// ------------------------------------------------------------------------------------------ /proc (Linux)
function readProc(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined; // gone, or not Linux
  }
}
/** Fields of /proc/<pid>/stat after the command name: [0] state, [1] ppid, [11] utime, [12] stime. */
function statFields(pid: number | string): string[] | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  return stat === undefined ? undefined : stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

let clockTicks: number | undefined;
/** Kernel clock ticks per second (the unit of utime/stime). */
function clkTck(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * `root` and all its descendants (e.g. a cluster primary and its workers), from the parent ids in
 * /proc/<pid>/stat (/proc/<pid>/task/<tid>/children is not built into every kernel). Empty if `root` is gone.
 */
export function processTree(root: number): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const kids = new Map<number, number[]>();
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = Number(statFields(name)?.[1]);
    if (!Number.isFinite(ppid)) continue;
    const list = kids.get(ppid);
    if (list) list.push(Number(name));
    else kids.set(ppid, [Number(name)]);
  }
  if (statFields(root) === undefined) return [];
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(kids.get(tree[i]!) ?? []));
  return tree;
}

/** CPU seconds (user + system, all threads) used so far by these processes together; undefined if none is readable. */
export function cpuSeconds(pids: readonly number[]): number | undefined {
  let ticks: number | undefined;
  for (const pid of pids) {
    const f = statFields(pid);
    if (f) ticks = (ticks ?? 0) + Number(f[11]) + Number(f[12]);
  }
  return ticks === undefined ? undefined : ticks / clkTck();
}

/** Resident memory (MiB) of these processes together (shared pages count once per process); undefined if none is readable. */
export function rssMiB(pids: readonly number[]): number | undefined {
  let kib: number | undefined;
  for (const pid of pids) {
    const m = /VmRSS:\s+(\d+) kB/.exec(readProc(`/proc/${pid}/status`) ?? '');
    if (m) kib = (kib ?? 0) + Number(m[1]);
  }
  return kib === undefined ? undefined : kib / 1024;
}

/** Samples rssMiB(pids) every `everyMs` until stop(), which returns the largest value seen. */
export function sampleRss(pids: readonly number[], everyMs = 100): { stop(): number | undefined } {
  let max: number | undefined;
  const sample = (): void => {
    const v = rssMiB(pids);
    if (v !== undefined && (max === undefined || v > max)) max = v;
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return max;
    },
  };
}

// ------------------------------------------------------------------------------------------ network helpers
/** Why Redis at `url` cannot be used (no PING answer within 2 s), or undefined when it answers. */
export async function redisProblem(url: string): Promise<string | undefined> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  let lastError: unknown;
  client.on('error', (err) => { lastError = err; });
  try {
    await client.connect();
    const pong = await client.ping();
    return pong === 'PONG' ? undefined : `PING answered ${pong}`;
  } catch (err) {
    const cause = lastError ?? err;
    return cause instanceof Error ? cause.message : String(cause);
  } finally {
    client.disconnect();
  }
}

/** Sends `request` on `socket` and resolves once one complete response (content-length or chunked) has arrived with status 200. */
function exchange(socket: Socket, request: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      if (err) reject(err);
      else resolve();
    };
    socket.on('data', (d: Buffer) => {
      if (done) return;
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.slice(0, end);
      const status = head.slice(0, head.indexOf('\r\n'));
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (!length && !/\r\ntransfer-encoding:\s*chunked/i.test(head)) return finish(new Error(`idle connection: response without a length cannot stay open (${status})`));
      if (length ? buf.length - end - 4 >= Number(length[1]) : buf.endsWith('0\r\n\r\n')) {
        finish(status.startsWith('HTTP/1.1 200') ? undefined : new Error(`idle connection: ${status}`));
      }
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(new Error('idle connection: closed before the response')));
    socket.write(request);
  });
}

export interface IdleConnections {
  /** Connections that have not been closed (by either side) since they were opened. */
  stillOpen(): number;
  close(): void;
}
/**
 * Opens `count` keep-alive connections to `url` (plain sockets, `batch` at a time), sends one complete GET with
 * `headers` on each, reads its 200 response and then leaves the connection open and idle.
 */
export async function openIdleConnections(url: string, headers: Record<string, string>, count: number, batch = 100): Promise<IdleConnections> {
  const u = new URL(url);
  const request = `GET ${u.pathname}${u.search} HTTP/1.1\r\nhost: ${u.host}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  const sockets: Socket[] = [];
  let closed = 0;
  const handle: IdleConnections = {
    stillOpen: () => sockets.length - closed,
    close: () => { for (const s of sockets) s.destroy(); },
  };
  const openOne = async (): Promise<void> => {
    const socket = connect(Number(u.port), u.hostname);
    sockets.push(socket);
    socket.once('close', () => { closed++; });
    await exchange(socket, request);
  };
  try {
    for (let i = 0; i < count; i += batch) await Promise.all(Array.from({ length: Math.min(batch, count - i) }, openOne));
  } catch (err) {
    handle.close();
    throw err;
  }
  return handle;
}

/** GETs `url` with node:http and discards the body; resolves with the status and the body bytes received. */
export async function download(url: string): Promise<{ status: number; bytes: number }> {
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => { http.get(url, { agent: false }, resolve).once('error', reject); });
  let bytes = 0;
  res.on('data', (d: Buffer) => { bytes += d.length; });
  await once(res, 'end');
  return { status: res.statusCode ?? 0, bytes };
}
