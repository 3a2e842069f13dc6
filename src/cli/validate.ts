import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type ConfigIssue, type LoadedConfig } from '../config/load.js';
import { formatIssue } from '../config/issue.js';
import { compileRuntime } from '../pipeline/runtime.js';
import type { RouteWarning } from '../routing/analyze.js';
import { configPath, reportError } from './common.js';

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** `file:line:col: warning: path: message` (or `file: warning: message` when it has no place). */
function warningLine(file: string, w: ConfigIssue): string {
  const text = formatIssue(file, w);
  const at = text.indexOf(': ', file.length);
  return at === -1 ? `${text}: warning` : `${text.slice(0, at)}: warning: ${text.slice(at + 2)}`;
}

/** A route warning placed at its route (`routes[3]`), named by kind as before. */
function routeWarning(loaded: LoadedConfig, w: RouteWarning): ConfigIssue {
  const index = loaded.config.routes.findIndex((r) => r.name === w.route);
  const path = index === -1 ? '' : `/routes/${index}`;
  return { path, message: `${w.kind}: ${w.message}`, ...(index === -1 ? {} : loaded.locate(path)) };
}

/** The summary on stdout: `valid (…)`, or `invalid: …` naming what made it so. */
function verdict(errors: number, warnings: number, strict: boolean, routes?: number): string {
  if (errors === 0 && (warnings === 0 || !strict)) return `valid (${plural(routes ?? 0, 'route')}, ${plural(warnings, 'warning')})`;
  const strictPart = `${plural(warnings, 'warning is an error', 'warnings are errors')} under --strict`;
  if (errors === 0) return `invalid: ${strictPart}`;
  if (warnings === 0) return `invalid: ${plural(errors, 'error')}`;
  return `invalid: ${plural(errors, 'error')}${strict ? `, and ${strictPart}` : ` (and ${plural(warnings, 'warning')})`}`;
}

/**
 * `gatehouse validate -c FILE [--strict]`: every error and warning of the file in one run, each with
 * file:line:col and document path. Exit 0 when valid (warnings printed), 1 otherwise; under --strict
 * warnings count as errors.
 */
export async function validateCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, strict: { type: 'boolean' } } });
  const file = configPath(values.config);
  const strict = values.strict === true;
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfig(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) return reportError(err);
    process.stderr.write(`${err.message}\n`);
    for (const w of err.warnings) process.stderr.write(`${warningLine(file, w)}\n`);
    process.stdout.write(`${file}: ${verdict(err.issues.length, err.warnings.length, strict)}\n`);
    return 1;
  }
  try {
    const runtime = await compileRuntime(loaded.config, { baseDir: loaded.baseDir, connect: false });
    const warnings = [...loaded.warningIssues, ...runtime.warnings.map((w) => routeWarning(loaded, w))];
    for (const w of warnings) process.stderr.write(`${warningLine(file, w)}\n`);
    await runtime.close();
    process.stdout.write(`${file}: ${verdict(0, warnings.length, strict, loaded.config.routes.length)}\n`);
    return strict && warnings.length > 0 ? 1 : 0;
  } catch (err) {
    // Checked when the config is compiled (key files, the assertion key): no place in the file to name.
    process.stderr.write(`${file}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.stdout.write(`${file}: ${verdict(1, 0, strict)}\n`);
    return 1;
  }
}
