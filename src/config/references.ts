import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConfigIssue } from './issue.js';
import { toPointer } from './pointer.js';
import { SECRET_PROVIDERS } from './secrets/registry.js';
import type { RemoteValues } from './secrets/provider.js';

/** What resolving `${env:…}` / `${file:…}` references produced. */
export interface Resolution {
  readonly value: unknown;
  readonly issues: readonly ConfigIssue[];
  /** Pointer → the references its string was built from (such values are never shown in messages). */
  readonly sources: ReadonlyMap<string, readonly string[]>;
  /**
   * Pointer → the text each reference put into its string, so that messages from code that does not
   * know about references (say, a preset's check quoting the issuer) can be masked. Never shown.
   */
  readonly substitutions: ReadonlyMap<string, readonly Substitution[]>;
  /** Pointers whose references could not be resolved (their raw text is kept). */
  readonly failed: readonly string[];
  /** Absolute paths of every `${file:}` referenced. */
  readonly files: readonly string[];
  /** Every remote reference (`${keyvault:…}`, …) resolved, with its value (never shown). */
  readonly remote: ReadonlyMap<string, string>;
}

/** One resolved reference: what it said and the text it stood for. */
export interface Substitution {
  readonly ref: string;
  readonly value: string;
}

/** Where references are resolved, and how a value that is wholly one reference is converted. */
export interface ResolveOptions {
  readonly baseDir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly coerce?: (segments: readonly string[], text: string) => unknown;
  /** What reading each remote reference gave (secrets/remote.ts reads them); one missing here is an error. */
  readonly remote?: RemoteValues;
}

// `$${` is an escaped `${`; `${…}` a reference; a lone `${` never closed is an error.
export const REFERENCE = /\$\$\{|\$\{([^}$]*)\}|\$\{/g;
const KINDS = `supported kinds are \${env:NAME}, \${file:PATH}, ${[...SECRET_PROVIDERS.values()].map((p) => p.syntax).join(', ')}`;

/** Replace references inside every string of a parsed document (a fresh tree is returned). */
export function resolveReferences(value: unknown, options: ResolveOptions): Resolution {
  const state: State = { issues: [], sources: new Map(), substitutions: new Map(), failed: [], files: new Map(), remote: new Map() };
  const visit = (v: unknown, segments: string[]): unknown => {
    if (Array.isArray(v)) return v.map((item, i) => visit(item, [...segments, String(i)]));
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, visit(item, [...segments, k])]));
    }
    return typeof v === 'string' ? resolveString(v, segments, options, state) : v;
  };
  const resolved = visit(value, []);
  return { value: resolved, issues: state.issues, sources: state.sources, substitutions: state.substitutions, failed: state.failed, files: [...state.files.keys()], remote: state.remote };
}

type State = {
  issues: ConfigIssue[];
  sources: Map<string, string[]>;
  substitutions: Map<string, Substitution[]>;
  failed: string[];
  files: Map<string, string | Error>;
  remote: Map<string, string>;
};

function resolveString(text: string, segments: string[], options: ResolveOptions, state: State): unknown {
  const path = toPointer(segments);
  const refs: string[] = [];
  const substituted: Substitution[] = [];
  let out = '';
  let last = 0;
  let ok = true;
  for (const m of text.matchAll(REFERENCE)) {
    out += text.slice(last, m.index);
    last = m.index + m[0].length;
    if (m[0] === '$${') { out += '${'; continue; }
    const result = m[1] === undefined
      ? { error: 'unterminated reference "${": close it with "}", or write $${ for a literal ${' }
      : resolveOne(m[0], m[1], options, state, segments[0] === 'secrets');
    if (m[1] !== undefined) refs.push(m[0]);
    if ('error' in result) {
      ok = false;
      state.issues.push({ path, message: result.error });
    } else {
      out += result.value;
      substituted.push({ ref: m[0], value: result.value });
    }
  }
  out += text.slice(last);
  if (refs.length > 0) state.sources.set(path, refs);
  if (substituted.length > 0) state.substitutions.set(path, substituted);
  if (!ok) { state.failed.push(path); return text; }
  const whole = refs.length === 1 && refs[0] === text;
  return whole && options.coerce ? options.coerce(segments, out) : out;
}

function resolveOne(ref: string, inner: string, options: ResolveOptions, state: State, inSettings: boolean): { value: string } | { error: string } {
  const files = state.files;
  const m = /^([A-Za-z][A-Za-z0-9_-]*):(.*)$/s.exec(inner);
  if (!m) return { error: `invalid reference ${ref}: ${KINDS} (write $\${ for a literal \${)` };
  const [, kind, arg] = m as unknown as [string, string, string];
  if (kind === 'env') {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(arg)) return { error: `invalid environment variable name in ${ref}` };
    const value = options.env[arg];
    return value === undefined ? { error: `environment variable ${arg} is not set (referenced by ${ref})` } : { value };
  }
  if (kind === 'file') {
    if (arg.trim() === '') return { error: `empty file path in ${ref}` };
    const file = resolve(options.baseDir, arg);
    if (!files.has(file)) files.set(file, readSecret(file));
    const content = files.get(file)!;
    return typeof content === 'string' ? { value: content } : { error: `cannot read file "${file}" (referenced by ${ref}): ${content.message}` };
  }
  const provider = SECRET_PROVIDERS.get(kind);
  if (provider === undefined) return { error: `unknown reference kind "${kind}" in ${ref}: ${KINDS}` };
  if (inSettings) return { error: `${ref}: the \`secrets\` settings cannot themselves come from a secret store; use \${env:} or \${file:}` };
  const problem = provider.check(arg);
  if (problem !== undefined) return { error: `invalid reference ${ref}: ${problem} (written ${provider.syntax})` };
  const read = options.remote?.get(ref);
  if (read === undefined) return { error: `${ref} was not read (remote secrets are read by loadConfig before the config is checked)` };
  if ('error' in read) return { error: `cannot read ${ref}: ${read.error}; the gateway does not start (or keeps its previous configuration) until it can` };
  state.remote.set(ref, read.value);
  return { value: read.value };
}

/** File content with trailing line breaks removed; on failure an Error naming only the cause (never content). */
function readSecret(file: string): string | Error {
  try {
    return readFileSync(file, 'utf8').replace(/(\r?\n)+$/, '');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return new Error(code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (code ?? 'unreadable'));
  }
}
