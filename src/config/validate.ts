import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import type { ConfigIssue } from './issue.js';
import { acceptsKind, asJson, describeType, memberForType, valueKind, variants, type JsonSchema } from './json-schema.js';
import { fromPointer, isWithin } from './pointer.js';

/**
 * Renders a value for a message (`string "abc"`, or just `"abc"` when bare), or names the
 * reference it came from when it may be a secret.
 */
export type ShowValue = (pointer: string, value: unknown, bare?: boolean) => string;

/** An issue plus what deduplication needs to know about it. */
interface Found extends ConfigIssue {
  readonly error?: ValueErrorType;
  /** For an unknown key with a close match: the pointer of the key it probably meant. */
  readonly meant?: string;
}

/** Schema issues for `value`, readable and deduplicated (most specific first, no union noise). */
export function schemaIssues(schema: TSchema, value: unknown, show: ShowValue): ConfigIssue[] {
  return schemaFindings(schema, value, show).issues;
}

/**
 * Schema issues, plus every place they make unreliable for later checks: each issue's path and, for
 * a misspelt key, the key it probably meant (a check must not read `public` as absent when the file
 * says `pubilc`).
 */
export function schemaFindings(schema: TSchema, value: unknown, show: ShowValue): { issues: ConfigIssue[]; invalid: string[] } {
  const all = collect(schema, value, show, '');
  const kept = dedupe(all);
  // Every path found, also those dedupe hides (a wrong `type` tag hides the rest of its object).
  const invalid = all.flatMap((i) => (i.meant === undefined ? [i.path] : [i.path, i.meant]));
  return { issues: kept.map(({ path, message }) => ({ path, message })), invalid };
}

function collect(schema: TSchema, value: unknown, show: ShowValue, base: string): Found[] {
  const out: Found[] = [];
  for (const error of Value.Errors(schema, value)) {
    const path = base + error.path;
    if (error.type === ValueErrorType.Union) out.push(...unionIssues(error.schema, path, error.value, show));
    else out.push(found(error, path, show));
  }
  return out;
}

function found(error: ValueError, path: string, show: ShowValue): Found {
  const message = errorMessage(error, path, show);
  const guess = /did you mean "([^"]+)"/.exec(message)?.[1];
  const parent = path.slice(0, path.lastIndexOf('/'));
  return { path, message, error: error.type, ...(guess && error.type === ValueErrorType.ObjectAdditionalProperties ? { meant: `${parent}/${guess}` } : {}) };
}

/**
 * One issue per path; no issue for a parent of a reported child; a wrong `type` tag hides the rest
 * of its object; a misspelt key hides the "missing" issue of the key it was meant to be.
 */
function dedupe(issues: Found[]): Found[] {
  const first = new Map<string, Found>();
  for (const issue of issues) if (!first.has(issue.path)) first.set(issue.path, issue);
  const kept = [...first.values()];
  const tagged = kept.filter((i) => i.error === ValueErrorType.Literal && i.path.endsWith('/type')).map((i) => i.path.slice(0, -'/type'.length));
  const meant = new Set(kept.map((i) => i.meant));
  return kept.filter((i) => !kept.some((o) => o.path !== i.path && isWithin(o.path, i.path))
    && !tagged.some((t) => isWithin(i.path, t) && i.path !== `${t}/type`)
    && !(i.error === ValueErrorType.ObjectRequiredProperty && meant.has(i.path)));
}

/** Picks the union member the value was meant for and reports that member's errors only. */
function unionIssues(schema: TSchema, path: string, value: unknown, show: ShowValue): Found[] {
  const members = variants(asJson(schema));
  const fits = members.filter((m) => acceptsKind(m, valueKind(value)));
  if (fits.length === 0 || fits.every((m) => m.const !== undefined)) {
    // No member takes this kind of value, or only constants do (none matched): name every member.
    const expected = describeType({ anyOf: members });
    return [{ path, message: `expected ${expected}, got ${show(path, value)}` }];
  }
  // Only scalars take it (`auto`, `off` or a size): name each of them, not just the first.
  if (fits.length > 1 && fits.every((m) => m.type !== 'object' && m.type !== 'array')) {
    const each = fits.map((m) => (m.const !== undefined ? JSON.stringify(m.const) : m.pattern !== undefined ? patternExpectation(m).replace(/^expected /, '') : describeType(m)));
    return [{ path, message: `expected ${each.slice(0, -1).join(', ')} or ${each.at(-1)!}, got ${show(path, value)}` }];
  }
  // One member takes this kind of value (an inline upstream, not its name): its own checks say what is wrong.
  const tagged = fits.length > 1 ? byType(fits, path, value, show) : undefined;
  if (tagged && 'issue' in tagged) return [tagged.issue];
  const candidates = tagged ? [tagged.member] : fits;
  let best: Found[] | undefined;
  for (const member of candidates) {
    const defaulted = Value.Default(member as unknown as TSchema, Value.Clone(value));
    const issues = collect(member as unknown as TSchema, defaulted, show, path);
    if (!best || issues.length < best.length) best = issues;
  }
  return best ?? [];
}

/** Objects told apart by a `type` literal: choose by the value's `type`. */
function byType(fits: JsonSchema[], path: string, value: unknown, show: ShowValue): { member: JsonSchema } | { issue: Found } | undefined {
  const tags = fits.map((m) => m.properties?.type?.const);
  if (valueKind(value) !== 'object' || tags.some((t) => typeof t !== 'string')) return undefined;
  const type = (value as Record<string, unknown>).type;
  const member = memberForType(fits, type);
  if (member !== undefined) return { member };
  const kinds = `one of: ${tags.join(', ')}`;
  if (type === undefined) return { issue: { path: `${path}/type`, message: `missing required key "type": expected ${kinds}` } };
  return { issue: { path: `${path}/type`, message: `expected ${kinds}, got ${show(`${path}/type`, type)}`, error: ValueErrorType.Literal } };
}

function errorMessage(error: ValueError, path: string, show: ShowValue): string {
  const schema = asJson(error.schema);
  const got = (): string => show(path, error.value);
  const key = fromPointer(path).at(-1) ?? '';
  switch (error.type) {
    case ValueErrorType.ObjectAdditionalProperties: return unknownKey(schema, key);
    case ValueErrorType.ObjectRequiredProperty: return `missing required key "${key}": expected ${describeType(schema)}`;
    case ValueErrorType.StringPattern: return `${patternExpectation(schema)}, got ${got()}`;
    case ValueErrorType.StringMinLength:
      return schema.minLength === 1 ? 'must not be empty' : `expected at least ${schema.minLength} characters, got ${got()}`;
    case ValueErrorType.ArrayMinItems:
      return `expected at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}, got ${(error.value as unknown[]).length}`;
    case ValueErrorType.IntegerMinimum: case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMinimum: case ValueErrorType.NumberMaximum: return `expected ${range(schema)}, got ${got()}`;
    case ValueErrorType.String: case ValueErrorType.Integer: case ValueErrorType.Number: case ValueErrorType.Boolean:
    case ValueErrorType.Object: case ValueErrorType.Array: case ValueErrorType.Literal: case ValueErrorType.Null:
      return `expected ${describeType(schema)}, got ${got()}`;
    default: return `${error.message.toLowerCase()}, got ${got()}`;
  }
}

function range(schema: JsonSchema): string {
  const type = schema.type ?? 'number';
  if (schema.minimum !== undefined && schema.maximum !== undefined) return `${type} from ${schema.minimum} to ${schema.maximum}`;
  return schema.minimum !== undefined ? `${type} ≥ ${schema.minimum}` : `${type} ≤ ${schema.maximum}`;
}

/** Durations and sizes say so in their description ("Duration such as `250ms`, `30s`."): reuse it. */
function patternExpectation(schema: JsonSchema): string {
  const example = /\b([A-Za-z]+) such as ([^.]+)\./.exec(schema.description ?? '');
  if (example) return `expected a ${example[1]!.toLowerCase()} such as ${example[2]!.replace(/`/g, '')}`;
  return `expected a string matching ${schema.pattern}`;
}

function unknownKey(schema: JsonSchema, key: string): string {
  if (!schema.properties) {
    const pattern = Object.keys(schema.patternProperties ?? {})[0];
    return `invalid name "${key}": expected a name matching ${pattern}`;
  }
  const allowed = Object.keys(schema.properties);
  const guess = closest(key, allowed);
  return `unknown key "${key}"${guess ? `; did you mean "${guess}"?` : ''} (allowed keys: ${allowed.join(', ')})`;
}

/** The candidate within edit distance 2 of `word` (case-insensitive), if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}
