import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { applyDefaults } from './defaults.js';
import { ConfigError, type ConfigIssue } from './issue.js';
import { asJson, schemasAt, valueKind } from './json-schema.js';
import { isWithin } from './pointer.js';
import { resolveReferences } from './references.js';
import { ConfigSchema, type Config } from './schema.js';
import { semanticIssues, workerWarnings } from './semantic.js';
import { schemaIssues, type ShowValue } from './validate.js';
import { parseSource } from './yaml-source.js';

export { ConfigError, type ConfigIssue } from './issue.js';

/** A validated config with defaults applied and secret references resolved. */
export interface LoadedConfig {
  readonly config: Config;
  /** Absolute path of the config file. */
  readonly file: string;
  readonly baseDir: string;
  /** Absolute paths of the files referenced by `${file:}` (watched for changes). */
  readonly secretFiles: readonly string[];
  readonly warnings: readonly string[];
}

/** Read, parse (YAML or JSON by content/extension), resolve secret references, apply defaults, validate. Throws ConfigError listing every problem. */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const absolute = resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (err) {
    throw new ConfigError(absolute, [{ path: '', message: `cannot read the config file: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
  }
  return loadConfigText(text, absolute, env);
}

/** The synchronous core of loadConfig: `${file:}` paths are relative to the directory of `file`. */
export function loadConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const absolute = resolve(file);
  const baseDir = dirname(absolute);
  const source = parseSource(text);
  const fail = (issues: readonly ConfigIssue[]): never => {
    const located = issues.map((i) => (i.line === undefined ? { ...i, ...source.locate(i.path) } : i));
    throw new ConfigError(absolute, located.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0)));
  };
  if (source.issues.length > 0) fail(source.issues);
  const resolution = resolveReferences(source.value, { baseDir, env, coerce: coerceScalar });
  const show = showValue(resolution.sources);
  const value = applyDefaults(ConfigSchema, resolution.value);
  const schemaProblems = schemaIssues(ConfigSchema, value, show).filter((i) => !resolution.failed.some((f) => isWithin(i.path, f)));
  const issues = [...resolution.issues, ...schemaProblems];
  if (issues.length > 0) fail(issues);
  const config = value as Config;
  const semantic = semanticIssues(config, show);
  if (semantic.length > 0) fail(semantic);
  return { config, file: absolute, baseDir, secretFiles: resolution.files, warnings: [...source.warnings, ...configWarnings(config)] };
}

/** `port: ${env:PORT}` gives the string "8080": convert it when the schema wants a number or boolean there. */
function coerceScalar(segments: readonly string[], text: string): unknown {
  const schemas = schemasAt(asJson(ConfigSchema), segments);
  // A free-form string keeps the text; a string constant (`workers: auto`) does not stop a number.
  if (schemas.length === 0 || schemas.some((s) => s.type === 'string' && s.const === undefined)) return text;
  const types = new Set(schemas.map((s) => s.type));
  if ((types.has('integer') || types.has('number')) && /^-?[0-9]+(\.[0-9]+)?$/.test(text.trim())) return Number(text.trim());
  if (types.has('boolean') && /^(true|false)$/.test(text.trim())) return text.trim() === 'true';
  return text;
}

/** Values built from references are never echoed: they may be secrets. */
function showValue(sources: ReadonlyMap<string, readonly string[]>): ShowValue {
  return (pointer, value, bare) => {
    for (const [path, refs] of sources) {
      if (isWithin(pointer, path)) return `${bare ? '' : `${valueKind(value)} `}(value from ${refs.join(', ')})`;
    }
    if (typeof value === 'string') return `${bare ? '' : 'string '}${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)}`;
    if (value === undefined) return 'nothing';
    if (value === null) return 'null';
    if (typeof value === 'object') return valueKind(value) === 'array' ? 'a list' : 'an object';
    return `${valueKind(value)} ${String(value)}`;
  };
}

function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  if (config.dev !== undefined && config.dev !== false) {
    warnings.push('the development issuer (`dev`) is enabled: anyone who can run `gatehouse dev-token` can mint accepted tokens; never enable it in production');
  }
  if (config.audit?.path !== undefined && config.audit.sink !== 'file') warnings.push(`audit.path is ignored unless audit.sink is "file" (it is "${config.audit.sink}")`);
  config.routes.forEach((route, i) => {
    if (route.token?.query !== undefined) warnings.push(`routes[${i}] (${route.name}) accepts tokens in the query string; URLs end up in logs`);
  });
  return [...warnings, ...workerWarnings(config)];
}
