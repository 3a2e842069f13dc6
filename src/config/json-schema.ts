import type { TSchema } from '@sinclair/typebox';
import { DURATION_PATTERN, SIZE_PATTERN } from './types.js';

/** The JSON Schema keywords the config schema uses (TypeBox schemas are plain JSON Schema). */
export interface JsonSchema {
  readonly type?: string;
  readonly anyOf?: readonly JsonSchema[];
  readonly const?: unknown;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly patternProperties?: Readonly<Record<string, JsonSchema>>;
  readonly additionalProperties?: boolean | JsonSchema;
  readonly items?: JsonSchema;
  readonly pattern?: string;
  readonly description?: string;
  readonly default?: unknown;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly minItems?: number;
  /**
   * Gatehouse's own annotation: the string is a secret (key material, a client secret), so it must
   * come from a `${env:}` or `${file:}` reference; a literal value is warned about (config/secrets.ts).
   */
  readonly secret?: boolean;
}

/** View a TypeBox schema through its JSON Schema keywords. */
export const asJson = (schema: TSchema): JsonSchema => schema as unknown as JsonSchema;

/** Members of a union, nested unions flattened; any other schema is its own single member. */
export function variants(schema: JsonSchema): JsonSchema[] {
  return schema.anyOf ? schema.anyOf.flatMap(variants) : [schema];
}

/** The kind of a parsed YAML/JSON value, in JSON Schema words (`integer` for whole numbers). */
export function valueKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/**
 * In a union of objects told apart by a `type` literal, the member a `type` value selects: the one
 * with that literal, or for an absent `type` the default kind, whose `type` may be left out (an
 * upstream without `type` is http). Undefined when no member is selected.
 */
export function memberForType(members: readonly JsonSchema[], type: unknown): JsonSchema | undefined {
  const tagged = members.filter((m) => m.properties?.type?.const !== undefined);
  if (type !== undefined) return tagged.find((m) => m.properties!.type!.const === type);
  return tagged.find((m) => !(m.required ?? []).includes('type'));
}

/** Whether a (non-union) schema could accept a value of this kind. */
export function acceptsKind(schema: JsonSchema, kind: string): boolean {
  if (schema.const !== undefined) return valueKind(schema.const) === kind || (kind === 'integer' && typeof schema.const === 'number');
  if (schema.type === 'number') return kind === 'number' || kind === 'integer';
  return schema.type === kind;
}

/** The schemas that may apply to the child `segment` of a value described by (non-union) `schema`. */
export function children(schema: JsonSchema, segment: string): JsonSchema[] {
  if (schema.type === 'array') return schema.items && /^[0-9]+$/.test(segment) ? [schema.items] : [];
  if (schema.type !== 'object') return [];
  if (schema.properties && Object.hasOwn(schema.properties, segment)) return [schema.properties[segment]!];
  const byPattern = Object.entries(schema.patternProperties ?? {}).filter(([p]) => new RegExp(p).test(segment)).map(([, s]) => s);
  if (byPattern.length > 0) return byPattern;
  return typeof schema.additionalProperties === 'object' ? [schema.additionalProperties] : [];
}

/** Every schema that may apply at a path below `root` (union members flattened). */
export function schemasAt(root: JsonSchema, segments: readonly string[]): JsonSchema[] {
  let current = variants(root);
  for (const segment of segments) current = current.flatMap((s) => children(s, segment)).flatMap(variants);
  return current;
}

/** `duration`, `size` or undefined: the unit a string schema expects. */
export function unitOf(schema: JsonSchema): 'duration' | 'size' | undefined {
  if (schema.pattern === DURATION_PATTERN) return 'duration';
  if (schema.pattern === SIZE_PATTERN) return 'size';
  return undefined;
}

const PLURAL: Record<string, string> = { string: 'strings', integer: 'integers', number: 'numbers', boolean: 'booleans', object: 'objects', duration: 'durations', size: 'sizes' };

/** How to name an object schema in a description (docs link it to its section); default `object`. */
export type ObjectNamer = (schema: JsonSchema) => string | undefined;

/** A short readable type: `integer`, `duration`, `one of: a, b`, `string or list of strings`. */
export function describeType(schema: JsonSchema, nameObject: ObjectNamer = () => undefined): string {
  const members = variants(schema);
  if (members.length > 1) {
    if (members.every((m) => m.const !== undefined)) return `one of: ${members.map((m) => String(m.const)).join(', ')}`;
    return [...new Set(members.map((m) => describeType(m, nameObject)))].join(' or ');
  }
  // A wrapper (anyOf/oneOf) around a single member: describe the member.
  if (members.length === 1 && members[0] !== schema) return describeType(members[0]!, nameObject);
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.type === 'string') return unitOf(schema) ?? 'string';
  if (schema.type === 'array') {
    const item = schema.items ? describeType(schema.items, nameObject) : 'any';
    return `list of ${PLURAL[item] ?? `(${item})`}`;
  }
  if (schema.type === 'object') {
    const named = nameObject(schema);
    if (named) return named;
    const values = Object.values(schema.patternProperties ?? {});
    if (!schema.properties && values[0]) return `map of name → ${describeType(values[0], nameObject)}`;
    return 'object';
  }
  return schema.type ?? 'any';
}
