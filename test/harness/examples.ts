/**
 * The configurations the README and docs show, as files in examples/, and how tests run them: read
 * one, point what must be local (ports, key and secret files, upstreams, the identity provider's key
 * endpoint) at things made at test time, and start a real gateway from it. Everything else in the
 * example (issuers, audiences, presets, rules, limits) is used exactly as written.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { startGateway, type TestGateway } from './gateway.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const EXAMPLES_DIR = join(ROOT, 'examples');

/** Every examples/*.yaml file name. */
export function exampleNames(): string[] {
  return readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.yaml')).sort();
}

export function exampleText(name: string): string {
  return readFileSync(join(EXAMPLES_DIR, name), 'utf8');
}

/** One fenced yaml block of a committed markdown file. */
export interface DocBlock {
  readonly doc: string;
  readonly line: number;
  readonly text: string;
  /** `# fragment…` on the first line: part of a config, not a whole one. */
  readonly fragment: boolean;
  /** `# examples/<name>.yaml` on the first line: the block is that file. */
  readonly example?: string;
}

/** The ```yaml blocks of README.md and every committed docs/**.md. */
export function docYamlBlocks(): DocBlock[] {
  const docs = execFileSync('git', ['ls-files', '--', 'README.md', 'docs'], { cwd: ROOT, encoding: 'utf8' })
    .split('\n').filter((f) => f.endsWith('.md'));
  const blocks: DocBlock[] = [];
  for (const doc of docs) {
    const source = readFileSync(join(ROOT, doc), 'utf8');
    for (const m of source.matchAll(/^```ya?ml[^\S\n]*\n([\s\S]*?)^```/gm)) {
      const text = m[1]!;
      const first = text.split('\n', 1)[0]!;
      const example = /^# examples\/([\w.-]+\.yaml)\s*$/.exec(first)?.[1];
      blocks.push({ doc, line: source.slice(0, m.index).split('\n').length, text, fragment: /^# fragment\b/.test(first), example });
    }
  }
  return blocks;
}

/** What a test supplies to run an example locally. */
export interface ExampleSetup {
  /** Environment variables the example references (`${env:NAME}`); set in this process before the start. */
  readonly env?: Record<string, string>;
  /**
   * Content of the files the example names: `${file:PATH}` references and provider key files
   * (`keys`, `credentials`), by the path written in the example. Each is written to a temp file and
   * the example is pointed at it. A reference or key file without an entry fails the test.
   */
  readonly files?: Record<string, string>;
  /** Exact string values to replace (upstream URLs, an introspection issuer): each must be used. */
  readonly replace?: Record<string, string>;
  /** The local key endpoint for every `type: oidc` provider (the provider's issuer stays as written). */
  readonly jwksUri?: string;
}

type Json = Record<string, unknown>;

/** The fields of a broker upstream that say where the broker is. */
const BROKER_ADDRESS_FIELDS = new Set(['url', 'servers', 'connectionString', 'namespace', 'endpoint']);

/** The example as an object, adapted to run on this machine (see ExampleSetup). */
export function adaptExample(name: string, setup: ExampleSetup = {}): Json {
  const config = parse(exampleText(name)) as Json;
  const dir = mkdtempSync(join(tmpdir(), `gatehouse-example-${name.replace(/\W/g, '-')}-`));
  const files = setup.files ?? {};
  const written = new Map<string, string>();
  const local = (path: string): string => {
    const content = files[path];
    if (content === undefined) throw new Error(`${name}: the test gives no content for ${path}`);
    let target = written.get(path);
    if (target === undefined) {
      target = join(dir, `f${written.size}-${path.replace(/[^\w.-]/g, '_')}`);
      writeFileSync(target, content, { mode: 0o600 });
      written.set(path, target);
    }
    return target;
  };
  const used = new Set<string>();
  const rewrite = (value: unknown): unknown => {
    if (typeof value === 'string') {
      if (setup.replace && Object.hasOwn(setup.replace, value)) {
        used.add(value);
        return setup.replace[value];
      }
      return value.replace(/\$\{file:([^}]+)\}/g, (_all, path: string) => `\${file:${local(path)}}`);
    }
    if (Array.isArray(value)) return value.map(rewrite);
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewrite(v)]));
    return value;
  };
  const out = rewrite(config) as Json;
  out.listen = { ...(out.listen as Json | undefined), host: '127.0.0.1', port: 0 };
  out.admin = { ...(out.admin as Json | undefined), host: '127.0.0.1', port: 0 };
  for (const provider of Object.values((out.providers ?? {}) as Record<string, Json>)) {
    if (provider.type === 'oidc') {
      if (setup.jwksUri === undefined) throw new Error(`${name}: an oidc provider needs jwksUri from the test`);
      provider.jwksUri = setup.jwksUri;
    }
    for (const key of ['keys', 'credentials'] as const) {
      if (typeof provider[key] === 'string') provider[key] = local(provider[key]);
    }
  }
  for (const route of (out.routes ?? []) as Json[]) {
    const upstream = typeof route.upstream === 'string' ? (out.upstreams as Record<string, Json> | undefined)?.[route.upstream] : route.upstream as Json | undefined;
    if (upstream?.type !== undefined && upstream.type !== 'http') {
      // A broker: where it is comes from the environment the test sets (a broker on this machine or a stand-in).
      const where = Object.entries(upstream).filter(([k]) => BROKER_ADDRESS_FIELDS.has(k));
      const fixed = where.filter(([, v]) => typeof v !== 'string' || !/^\$\{env:[A-Z0-9_]+\}$/.test(v));
      if (where.length === 0 || fixed.length > 0) throw new Error(`${name}: route ${String(route.name)}'s broker address must be an \${env:…} reference the test sets`);
      continue;
    }
    const url = upstream?.url;
    if (typeof url !== 'string' || !/^https?:\/\/127\.0\.0\.1:\d+/.test(url)) {
      throw new Error(`${name}: route ${String(route.name)} would call ${String(url)}: map it to a local upstream`);
    }
  }
  const unused = Object.keys(setup.replace ?? {}).filter((k) => !used.has(k));
  if (unused.length > 0) throw new Error(`${name}: not in the example: ${unused.join(', ')}`);
  const unusedFiles = Object.keys(files).filter((k) => !written.has(k));
  if (unusedFiles.length > 0) throw new Error(`${name}: files the example does not name: ${unusedFiles.join(', ')}`);
  return out;
}

/** Start a real in-process gateway from an example (see adaptExample). */
export async function startExample(name: string, setup: ExampleSetup = {}): Promise<TestGateway> {
  for (const [k, v] of Object.entries(setup.env ?? {})) process.env[k] = v;
  return startGateway(adaptExample(name, setup));
}
