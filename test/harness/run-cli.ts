import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The runtime the CLI child runs on: Node through tsx (the default), or Bun running the sources
 * itself when GATEHOUSE_ENGINE_BIN names a bun binary (the Bun engine's evidence runs: the tests and
 * their clients stay on Node, only the gateway is on Bun); `env` may name one for a single call.
 */
function runtime(env: NodeJS.ProcessEnv): [string, string[]] {
  const bin = env.GATEHOUSE_ENGINE_BIN ?? process.env.GATEHOUSE_ENGINE_BIN;
  return bin ? [bin, []] : [process.execPath, ['--import', 'tsx']];
}

/** The child's environment: on Bun the evaluation opt-in (src/server/engine.ts) unless the call sets it. */
function childEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const onBun = Boolean(env.GATEHOUSE_ENGINE_BIN ?? process.env.GATEHOUSE_ENGINE_BIN);
  return { ...process.env, ...(onBun ? { GATEHOUSE_ALLOW_BUN: '1' } : {}), ...env };
}

/** Run a CLI command to completion. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const [bin, preload] = runtime(env);
    const child = spawn(bin, [...preload, CLI, ...args], { cwd: ROOT, env: childEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Start a long-running CLI command and wait (up to `timeoutMs`) until a line of stderr matches `ready`. */
export function spawnCli(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}, timeoutMs = 30000): Promise<{ child: ChildProcess; match: RegExpMatchArray; stderr: () => string; exited: Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const [bin, preload] = runtime(env);
    const child = spawn(bin, [...preload, CLI, ...args], { cwd: ROOT, env: childEnv(env) });
    let stderr = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`CLI did not become ready: ${stderr}`)); }, timeoutMs);
    child.stdout!.resume();
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = ready.exec(stderr);
      if (m) { clearTimeout(timer); resolve({ child, match: m, stderr: () => stderr, exited }); }
    });
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`CLI exited ${code} before ready: ${stderr}`)); });
  });
}
