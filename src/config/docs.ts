import { ERRORS } from '../errors.js';
import { describeType, variants, type JsonSchema } from './json-schema.js';
import { ConfigSchema } from './schema.js';
import { CONFIG_INTRO, ERRORS_INTRO } from './docs-text.js';

/** The `$id` of the published JSON Schema: a name (documented in docs/config.md), not a location. */
export const SCHEMA_ID = 'urn:gatehouse:config-schema:v1';

/**
 * The config JSON Schema (draft 2020-12) as written to schema/gatehouse.schema.json. Keys with a
 * default are required only after loading, so they are not required of the file an editor checks.
 */
export function renderJsonSchema(): string {
  const plain = JSON.parse(JSON.stringify(ConfigSchema), (key, value: unknown) => {
    // `secret` is Gatehouse's own annotation (config/secrets.ts), not JSON Schema: left out of the published file.
    if (key === 'secret' && typeof value === 'boolean') return undefined;
    const node = value as { properties?: Record<string, { default?: unknown }>; required?: string[] } | null;
    if (node === null || typeof node !== 'object' || !Array.isArray(node.required) || !node.properties) return value;
    const required = node.required.filter((k) => node.properties?.[k]?.default === undefined);
    return { ...node, required: required.length > 0 ? required : undefined };
  }) as Record<string, unknown>;
  const document = { $schema: 'https://json-schema.org/draft/2020-12/schema', $id: SCHEMA_ID, title: 'Gatehouse configuration', ...plain };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** docs/errors.md: the problem body, then every code with its status and title. */
export function renderErrorsDoc(): string {
  const rows = Object.entries(ERRORS).map(([code, e]) => `| \`${code}\` | ${e.status} | ${cell(e.title)} |`);
  return `${ERRORS_INTRO}\n| Code | HTTP status | Title |\n| --- | --- | --- |\n${rows.join('\n')}\n`;
}

interface Section {
  readonly path: string;
  readonly schema: JsonSchema;
}

interface Collected {
  readonly sections: Section[];
  /** A property → the sections describing what it holds. */
  readonly seeAlso: Map<JsonSchema, string[]>;
  /** An object's JSON → its first section, so a repeated object (allow and deny rules) is described once. */
  readonly seen: Map<string, string>;
}

/** docs/config.md: an intro, then one section per object of the schema with a table of its keys. */
export function renderConfigDoc(): string {
  const root = JSON.parse(JSON.stringify(ConfigSchema)) as JsonSchema;
  const collected: Collected = { sections: [], seeAlso: new Map(), seen: new Map() };
  collect(root, '', collected);
  return [CONFIG_INTRO, ...collected.sections.map((s) => renderSection(s, collected.seeAlso))].join('\n');
}

/** An object small enough to describe inline: one undocumented key holding no object (`{ anyOf: [...] }`). */
function isInline(schema: JsonSchema): boolean {
  const props = Object.values(schema.properties ?? {});
  return props.length === 1 && !props.some((p) => p.description !== undefined || p.default !== undefined
    || variants(p).some((v) => v.type === 'object' || v.items?.type === 'object'));
}

const inlineNamer = (schema: JsonSchema): string | undefined => {
  if (!schema.properties || !isInline(schema)) return undefined;
  const [key, value] = Object.entries(schema.properties)[0]!;
  return `{ ${key}: ${describeType(value, inlineNamer)} }`;
};

/** Depth-first: a section for each object with keys; returns the sections found at or below `schema`. */
function collect(schema: JsonSchema, path: string, into: Collected): string[] {
  const found: string[] = [];
  const objects = variants(schema).filter((v) => v.type === 'object' && v.properties && !isInline(v));
  for (const member of variants(schema)) {
    if (member.type === 'array' && member.items) found.push(...collect(member.items, `${path}[]`, into));
    if (member.type !== 'object') continue;
    if (!member.properties) {
      for (const value of Object.values(member.patternProperties ?? {})) found.push(...collect(value, `${path}.<name>`, into));
    } else if (objects.includes(member)) {
      const tag = member.properties.type?.const;
      const title = objects.length > 1 ? `${path} (${tag === undefined ? `form ${objects.indexOf(member) + 1}` : `type: ${String(tag)}`})` : path;
      found.push(section(member, title, into));
    }
  }
  return found;
}

function section(schema: JsonSchema, title: string, into: Collected): string {
  const key = JSON.stringify(schema);
  const earlier = into.seen.get(key);
  if (earlier !== undefined) return earlier;
  into.seen.set(key, title);
  into.sections.push({ path: title, schema });
  const base = title.replace(/ \(.*\)$/, '');
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    const below = collect(child, base === '' ? name : `${base}.${name}`, into);
    if (below.length > 0) into.seeAlso.set(child, below);
  }
  return title;
}

/** The type column: the readable type, plus a string's pattern or a number's range. */
function typeCell(schema: JsonSchema): string {
  const type = describeType(schema, inlineNamer);
  if (schema.type === 'string' && schema.pattern && !['duration', 'size'].includes(type)) return `string matching \`${schema.pattern}\``;
  if (schema.minimum !== undefined && schema.maximum !== undefined) return `${type}, ${schema.minimum}–${schema.maximum}`;
  if (schema.minimum !== undefined) return `${type}, ≥ ${schema.minimum}`;
  return type;
}

function renderSection(section: Section, seeAlso: Map<JsonSchema, string[]>): string {
  const { schema } = section;
  const required = new Set(schema.required ?? []);
  const rows = Object.entries(schema.properties ?? {}).map(([key, child]) => {
    const below = seeAlso.get(child);
    const type = typeCell(child) + (below ? `; see ${below.map((p) => `\`${p}\``).join(', ')}` : '');
    const fallback = required.has(key) ? 'required' : '';
    const def = child.default === undefined ? fallback : formatDefault(child.default);
    const description = [child.description ?? '', ...variants(child).some((v) => v.secret === true) ? [SECRET_NOTE] : []].filter(Boolean).join(' ');
    return `| \`${key}\` | ${cell(type)} | ${cell(def)} | ${cell(description)} |`;
  });
  const heading = section.path === '' ? 'Top level' : `\`${section.path}\``;
  return [`## ${heading}`, '', ...(schema.description ? [schema.description, ''] : []),
    '| Key | Type | Default | Description |', '| --- | --- | --- | --- |', ...rows, ''].join('\n');
}

/** Added to the description of every key the schema marks `secret: true`. */
const SECRET_NOTE = 'Secret: write a `${env:NAME}` or `${file:/path}` reference; a literal value is warned about (an error under `validate --strict`).';

function formatDefault(value: unknown): string {
  if (Array.isArray(value)) return `\`[${value.map((v) => String(v)).join(', ')}]\``;
  return `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;
}

function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}
