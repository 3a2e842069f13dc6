import { CloneType, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** Optional top-level sections that always exist after loading, so their own defaults apply. */
const SECTIONS = ['listen', 'admin', 'heap', 'audit', 'log', 'assertion', 'limits'] as const;

const prepared = new WeakMap<TSchema, TSchema>();

/** Apply schema defaults to a parsed config (in place), creating the optional top-level sections first. */
export function applyDefaults(schema: TSchema, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const key of SECTIONS) if (record[key] === undefined || record[key] === null) record[key] = {};
  }
  let defaulting = prepared.get(schema);
  if (!defaulting) {
    defaulting = defaultingSchema(schema);
    prepared.set(schema, defaulting);
  }
  return Value.Default(defaulting, value);
}

/**
 * TypeBox's Value.Default only descends into a record's values when the value schema itself has a
 * `default` (so providers would get none of theirs). A private copy marks them with `default: undefined`,
 * which changes nothing else.
 */
function defaultingSchema(schema: TSchema): TSchema {
  const copy = CloneType(schema);
  const mark = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    const s = node as Record<string, unknown>;
    if (s.patternProperties && typeof s.patternProperties === 'object') {
      for (const value of Object.values(s.patternProperties as Record<string, Record<string, unknown>>)) {
        if (!('default' in value)) value.default = undefined;
      }
    }
    for (const child of Object.values(s)) mark(child);
  };
  mark(copy);
  return copy;
}
