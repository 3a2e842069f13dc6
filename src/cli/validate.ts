import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { compileRuntime } from '../pipeline/runtime.js';
import { configPath, reportError } from './common.js';

/** `gatehouse validate -c FILE`: exit 0 when valid (warnings printed), 1 with every error otherwise. */
export async function validateCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, strict: { type: 'boolean' } } });
  const file = configPath(values.config);
  try {
    const loaded = await loadConfig(file);
    const runtime = await compileRuntime(loaded.config, { baseDir: loaded.baseDir, connect: false });
    const warnings = [...loaded.warnings, ...runtime.warnings.map((w) => `${w.kind}: ${w.message}`)];
    for (const w of warnings) process.stderr.write(`${file}: warning: ${w}\n`);
    await runtime.close();
    process.stdout.write(`${file}: valid (${loaded.config.routes.length} routes, ${warnings.length} warnings)\n`);
    return values.strict && warnings.length > 0 ? 1 : 0;
  } catch (err) {
    return reportError(err);
  }
}
