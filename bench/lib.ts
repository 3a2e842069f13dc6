// Shared by the benchmark scripts: child processes started and stopped together, and one load run.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const children: ChildProcess[] = [];

/** Path of a file next to the bench scripts. */
export const benchFile = (f: string): string => new URL(f, import.meta.url).pathname;

/** Start `node args…` and resolve with the first match of `ready` in its output. */
export function startChild(args: string[], ready: RegExp): Promise<RegExpMatchArray> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve(m);
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

/** Median of a list of numbers. */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
