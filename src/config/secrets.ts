/**
 * Secrets are references, never literals. Which fields hold secrets is read from the schema: a
 * string schema annotated `secret: true` (listen.tls.key, assertion.privateKey, an introspection
 * provider's clientSecret, …); a new secret field needs only the annotation.
 */
import type { TSchema } from '@sinclair/typebox';
import type { ConfigIssue } from './issue.js';
import { acceptsKind, asJson, children, valueKind, variants, type JsonSchema } from './json-schema.js';
import { toPointer } from './pointer.js';

/** Pointers of the strings in `value` that the schema marks as secrets. */
export function secretFields(schema: TSchema, value: unknown): string[] {
  const found: string[] = [];
  visit(asJson(schema), value, '', found);
  return found;
}

/** The union members that describe `value`: those taking its kind, narrowed by a `type` tag when there is one. */
function members(schema: JsonSchema, value: unknown): JsonSchema[] {
  const fits = variants(schema).filter((m) => acceptsKind(m, valueKind(value)));
  const type = valueKind(value) === 'object' ? (value as Record<string, unknown>).type : undefined;
  const tagged = fits.filter((m) => m.properties?.type?.const !== undefined && m.properties.type.const === type);
  return tagged.length > 0 ? tagged : fits;
}

function visit(schema: JsonSchema, value: unknown, pointer: string, found: string[]): void {
  const here = members(schema, value);
  if (typeof value === 'string') {
    if (here.some((m) => m.secret === true)) found.push(pointer);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const entries: [string, unknown][] = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  for (const [key, child] of entries) {
    for (const member of here) for (const next of children(member, key)) visit(next, child, `${pointer}${toPointer([key])}`, found);
  }
}

/**
 * A warning for each secret field written as a literal (no `${env:}`/`${file:}` reference in it).
 * `sources` maps a pointer to the references its string was built from. The value is never shown.
 */
export function literalSecretWarnings(schema: TSchema, value: unknown, sources: ReadonlyMap<string, readonly string[]>): ConfigIssue[] {
  return [...new Set(secretFields(schema, value))].filter((p) => !sources.has(p)).map((path) => ({
    path,
    message: 'secret written as a literal value: secrets are references, never literals; move it to a file or the environment and write "${file:/path}" or "${env:NAME}" here',
  }));
}
