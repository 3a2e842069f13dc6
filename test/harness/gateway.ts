import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { runGateway, type RunningGateway } from '../../src/server/run.js';

export interface TestGateway {
  readonly url: string;
  readonly adminUrl: string;
  readonly dir: string;
  readonly configFile: string;
  readonly gateway: RunningGateway;
  /** Audit lines written so far (the sink is asynchronous: waits until `count` lines or 2 s). */
  audit(count?: number): Promise<Record<string, unknown>[]>;
  /** The first audit line matching `pred`, waiting up to 2 s for it. */
  auditLine(pred: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown> | undefined>;
  stop(): Promise<void>;
}

/** Start a real gateway in-process on port 0 from a config object (written as a JSON file, which is YAML). */
export async function startGateway(config: Record<string, unknown>, opts: { log?: Logger } = {}): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  const auditFile = join(dir, 'audit.log');
  const full = {
    ...config,
    listen: { port: 0, host: '127.0.0.1', ...(config.listen as object | undefined) },
    admin: { port: 0, host: '127.0.0.1', ...(config.admin as object | undefined) },
    // Audit settings of the test apply over a file in the test's directory (which audit() reads).
    audit: { sink: 'file', path: auditFile, ...(config.audit as object | undefined) },
  };
  const configFile = join(dir, 'gatehouse.yaml');
  writeFileSync(configFile, JSON.stringify(full, null, 2));
  const gateway = await runGateway(configFile, opts.log ?? pino({ level: 'silent' }));
  const read = (): Record<string, unknown>[] => readAuditFile(auditFile);
  return {
    url: `http://127.0.0.1:${gateway.port}`,
    adminUrl: `http://127.0.0.1:${gateway.adminPort}`,
    dir,
    configFile,
    gateway,
    async audit(count = 0) {
      const deadline = Date.now() + 2000;
      let lines = read();
      while (lines.length < count && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
        lines = read();
      }
      return lines;
    },
    async auditLine(pred) {
      const deadline = Date.now() + 2000;
      for (;;) {
        const hit = read().find(pred);
        if (hit || Date.now() > deadline) return hit;
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async stop() { await gateway.stop(); },
  };
}

/** The whole records of an audit file so far: the sink may be mid-write, and a torn last line is not yet a record. */
export function readAuditFile(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Write a config to a temp file and return its path. */
export function writeConfig(text: string, name = 'gatehouse.yaml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cfg-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}
