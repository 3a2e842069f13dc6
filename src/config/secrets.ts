/**
 * Secrets are references, never literals. Which fields hold secrets is read from the schema: a
 * string schema annotated `secret: true` (listen.tls.key, assertion.privateKey, an introspection
 * provider's clientSecret, …); a new secret field needs only the annotation.
 */
import type { TSchema } from '@sinclair/typebox';
import type { ConfigIssue } from './issue.js';
import { acceptsKind, asJson, children, memberForType, valueKind, variants, type JsonSchema } from './json-schema.js';
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
  const selected = memberForType(fits, type);
  return selected !== undefined ? [selected] : fits;
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

/** Pointers of the strings in `value` that are URLs with a password (`redis://:pw@host`), whatever the field. */
export function passwordUrls(value: unknown, pointer = ''): string[] {
  if (typeof value === 'string') return hasPassword(value) ? [pointer] : [];
  if (value === null || typeof value !== 'object') return [];
  const entries: [string, unknown][] = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  return entries.flatMap(([key, child]) => passwordUrls(child, `${pointer}${toPointer([key])}`));
}

function hasPassword(text: string): boolean {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(text)) return false;
  try {
    return new URL(text).password !== '';
  } catch {
    return false;
  }
}

const REFERENCE_HINT = 'move it to a file or the environment and write "${file:/path}" or "${env:NAME}" here';

/**
 * A warning for each secret written as a literal (with no `${env:}`/`${file:}` reference in it): a
 * field the schema marks secret, or a URL carrying a password. `sources` maps a pointer to the
 * references its string was built from. The value is never shown.
 */
export function literalSecretWarnings(schema: TSchema, value: unknown, sources: ReadonlyMap<string, readonly string[]>): ConfigIssue[] {
  const fields = [...new Set(secretFields(schema, value))].filter((p) => !sources.has(p));
  const urls = passwordUrls(value).filter((p) => !sources.has(p) && !fields.includes(p));
  return [
    ...fields.map((path) => ({ path, message: `secret written as a literal value: secrets are references, never literals; ${REFERENCE_HINT}` })),
    ...urls.map((path) => ({ path, message: 'URL with a literal password: secrets are references, never literals; write the password as a reference, e.g. redis://:${env:REDIS_PASSWORD}@host:6379' })),
  ];
}
