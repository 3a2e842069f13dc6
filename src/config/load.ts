import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { applyDefaults } from './defaults.js';
import { ConfigError, type ConfigIssue } from './issue.js';
import { asJson, schemasAt, valueKind } from './json-schema.js';
import { isWithin, readablePath } from './pointer.js';
import { resolveReferences, type Substitution } from './references.js';
import { readRemote, remoteReferences, type RemoteValues } from './secrets/remote.js';
import { ConfigSchema, type Config } from './schema.js';
import { literalSecretWarnings } from './secrets.js';
import { semanticIssues, workerWarnings } from './semantic.js';
import { Soundness } from './checks.js';
import { schemaFindings, type ShowValue } from './validate.js';
import { parseSource } from './yaml-source.js';
import { resolveUpstreamNames } from './upstream-names.js';

export { ConfigError, type ConfigIssue } from './issue.js';

/** A validated config with defaults applied and secret references resolved. */
export interface LoadedConfig {
  readonly config: Config;
  /** Absolute path of the config file. */
  readonly file: string;
  readonly baseDir: string;
  /** Absolute paths of the files referenced by `${file:}` (watched for changes). */
  readonly secretFiles: readonly string[];
  /** Remote references (`${keyvault:…}`, …) → the value read (polled for changes). Never shown. */
  readonly remoteSecrets: ReadonlyMap<string, string>;
  /** Every warning, one line each (what `start` logs). */
  readonly warnings: readonly string[];
  /** The same warnings as issues: those about a place in the file have its path, line and column. */
  readonly warningIssues: readonly ConfigIssue[];
  /** Line and column of a document path (the deepest part of it that exists in the file). */
  locate(pointer: string): { line: number; column: number } | undefined;
}

/** How loadConfig reads remote secrets. */
export interface LoadOptions {
  /** Values to use for these remote references instead of reading them (a cluster primary's, a poll's). */
  readonly secrets?: ReadonlyMap<string, string>;
}

/**
 * Read, parse (YAML or JSON by content/extension), read the remote secrets it references, resolve
 * secret references, apply defaults, validate. Throws ConfigError listing every problem.
 */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): Promise<LoadedConfig> {
  const absolute = resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (err) {
    throw new ConfigError(absolute, [{ path: '', message: `cannot read the config file: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
  }
  const source = parseSource(text);
  const refs = source.issues.length > 0 ? [] : remoteReferences(source.value);
  if (refs.length === 0) return loadConfigText(text, absolute, env);
  // The store settings may use ${env:}/${file:}; their own problems are reported by the full load.
  const raw = (source.value as Record<string, unknown> | null)?.secrets;
  const settings = raw === undefined ? undefined : resolveReferences(raw, { baseDir: dirname(absolute), env });
  const usable = settings === undefined ? { valid: true, value: undefined } : { valid: settings.issues.length === 0, value: settings.value };
  const remote = await readRemote(refs, usable, env, options.secrets);
  return loadConfigText(text, absolute, env, { remote });
}

const byPlace = (a: ConfigIssue, b: ConfigIssue): number => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0);

/**
 * The synchronous core of loadConfig: `${file:}` paths are relative to the directory of `file`;
 * remote references take their values from `options.remote` (what loadConfig read).
 * Every problem is found in one pass: reference, schema and semantic checks all run, the semantic ones
 * on the parts the schema accepted (config/checks.ts), so a schema error never hides them nor causes
 * bogus ones. Only a file that cannot be parsed stops early.
 */
export function loadConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env, options: { remote?: RemoteValues } = {}): LoadedConfig {
  const absolute = resolve(file);
  const baseDir = dirname(absolute);
  const source = parseSource(text);
  const place = (issues: readonly ConfigIssue[]): ConfigIssue[] =>
    issues.map((i) => (i.line === undefined ? { ...i, ...source.locate(i.path) } : i)).sort(byPlace);
  if (source.issues.length > 0) throw new ConfigError(absolute, place(source.issues));
  const resolution = resolveReferences(source.value, { baseDir, env, coerce: coerceScalar, ...(options.remote ? { remote: options.remote } : {}) });
  const show = showValue(resolution.sources);
  const value = applyDefaults(ConfigSchema, resolution.value);
  const schema = schemaFindings(ConfigSchema, value, show);
  const schemaProblems = schema.issues.filter((i) => !resolution.failed.some((f) => isWithin(i.path, f)));
  const invalid = [...schema.invalid, ...resolution.failed, ...resolution.issues.map((i) => i.path)];
  const secrets = literalSecretWarnings(ConfigSchema, value, resolution.sources).filter((w) => new Soundness(invalid).sound(w.path));
  // From here on a route's upstream is an object; what checks find inside a named one is reported at its definition.
  const names = resolveUpstreamNames(value);
  const real = names.real;
  const soundness = new Soundness([...invalid, ...names.issues.map((i) => i.path)].flatMap((bad) => [bad, ...routesNaming(bad, value, real)]));
  const mask = maskReferences(resolution.substitutions);
  const semantic = semanticIssues(value as Config, { show: (at, v, bare) => show(real(at), v, bare), mask: (at, text) => mask(real(at), text) }, soundness)
    .map((i) => ({ ...i, path: real(i.path) }));
  const issues = unique([...resolution.issues, ...schemaProblems, ...names.issues, ...semantic]);
  if (issues.length > 0) throw new ConfigError(absolute, place(issues), place(secrets));
  const config = value as Config;
  const warningIssues = [
    ...source.warnings.map((message) => ({ path: '', message })),
    ...place(secrets),
    ...configWarnings(config).map((message) => ({ path: '', message })),
  ];
  return {
    config, file: absolute, baseDir, secretFiles: resolution.files, remoteSecrets: resolution.remote,
    warnings: warningIssues.map(warningText), warningIssues, locate: (pointer) => source.locate(pointer),
  };
}

/** Where a problem `bad` inside an upstream definition shows in the routes that name it (as unsound there as it is). */
function routesNaming(bad: string, value: unknown, real: (pointer: string) => string): string[] {
  const routes = (value as { routes?: unknown }).routes;
  if (!bad.startsWith('/upstreams') || !Array.isArray(routes)) return [];
  return routes.flatMap((_, i) => {
    const at = `/routes/${i}/upstream`;
    const definition = real(at);
    if (definition === at) return [];
    if (isWithin(bad, definition)) return [at + bad.slice(definition.length)];
    return isWithin(definition, bad) ? [at] : [];
  });
}

/** A warning as one line for the log: `listen.tls.key (line 4): message`, or just the message. */
function warningText(issue: ConfigIssue): string {
  const path = readablePath(issue.path);
  if (path === '') return issue.message;
  return `${path}${issue.line === undefined ? '' : ` (line ${issue.line})`}: ${issue.message}`;
}

/** One issue per path and message (two checks may find the same thing). */
function unique(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\0${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Hides, in a message written by code that knows nothing of references, the text references put at or below `pointer`. */
function maskReferences(substitutions: ReadonlyMap<string, readonly Substitution[]>): (pointer: string, text: string) => string {
  return (pointer, text) => {
    let out = text;
    for (const [path, subs] of substitutions) {
      if (!isWithin(path, pointer)) continue;
      // Longest first, so that a value containing another is replaced whole.
      for (const { ref, value } of [...subs].sort((a, b) => b.value.length - a.value.length)) {
        if (value !== '') out = out.split(value).join(`(value from ${ref})`);
      }
    }
    return out;
  };
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

const URL_PASSWORD = /(\/\/[^/@\s:]*:)[^@/\s]*@/g;

/** Values built from references are never echoed: they may be secrets. */
function showValue(sources: ReadonlyMap<string, readonly string[]>): ShowValue {
  return (pointer, value, bare) => {
    for (const [path, refs] of sources) {
      if (isWithin(pointer, path)) return `${bare ? '' : `${valueKind(value)} `}(value from ${refs.join(', ')})`;
    }
    if (typeof value === 'string') {
      // A URL's password (amqp://user:password@mq) is never echoed, whatever the field.
      const shown = value.replace(URL_PASSWORD, '$1***@');
      return `${bare ? '' : 'string '}${JSON.stringify(shown.length > 60 ? `${shown.slice(0, 57)}...` : shown)}`;
    }
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
  if ((config.secrets as { keyvault?: { verifyChallengeResource?: boolean } } | undefined)?.keyvault?.verifyChallengeResource === false) {
    warnings.push('secrets.keyvault.verifyChallengeResource is off: a vault URL\'s server can ask for a token for any resource; use it only with a Key Vault stand-in');
  }
  if (config.audit?.integrity !== undefined && config.assertion?.privateKey === undefined) {
    warnings.push('audit.integrity: checkpoints are signed with a key generated at start, which no auditor can keep; set assertion.privateKey (and publish its JWKS to your auditors)');
  }
  if (config.audit?.path !== undefined && config.audit.sink !== 'file') warnings.push(`audit.path is ignored unless audit.sink is "file" (it is "${config.audit.sink}")`);
  config.routes.forEach((route, i) => {
    if (route.token?.query !== undefined) warnings.push(`routes[${i}] (${route.name}) accepts tokens in the query string; URLs end up in logs`);
  });
  return [...warnings, ...workerWarnings(config)];
}
