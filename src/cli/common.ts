import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { ConfigError } from '../config/load.js';

/** The embedded default config that `npm start` serves. */
export const QUICKSTART = fileURLToPath(new URL('../../examples/quickstart.yaml', import.meta.url));

/** Port of the sample upstream that the quick start forwards to. */
export const SAMPLE_UPSTREAM_PORT = 8081;

/** Resolve `-c FILE` (default: the quick start). */
export function configPath(value: string | undefined): string {
  return value ? resolve(value) : QUICKSTART;
}

/** Print a config error (every issue, one per line) and return the exit code for it. */
export function reportError(err: unknown): number {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  process.stderr.write(`gatehouse: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}
