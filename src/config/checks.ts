/**
 * Semantic checks on a document that may have schema errors. Every problem a file has should show in
 * one run, so the checks run on the parts the schema accepted, and a check never reports a consequence
 * of a schema error (a misspelt `public` must not also read as "route has no authentication").
 *
 * How: each check is a small function. When the document has known-bad places (schema errors,
 * unresolved references, the keys a misspelling probably meant), the check runs on a read-tracking
 * view of the document; if it read any value at or below a bad place, or threw on a malformed shape,
 * its findings are dropped. A check that read only sound values reports as usual.
 */
import type { ConfigIssue } from './issue.js';
import { isWithin, toPointer } from './pointer.js';

/** One semantic check: reads the document, returns what is wrong. */
export type Check<T> = (document: T) => readonly ConfigIssue[];

/** The places in a document known to be wrong, and the questions checks ask about them. */
export class Soundness {
  readonly #invalid: readonly string[];

  constructor(invalid: readonly string[]) {
    this.#invalid = [...new Set(invalid)];
  }

  /** No known problems: checks can read the document directly. */
  get clean(): boolean {
    return this.#invalid.length === 0;
  }

  /** The value at `pointer` and everything that contains it passed (its own children may not have). */
  sound(pointer: string): boolean {
    return !this.#invalid.some((bad) => isWithin(pointer, bad));
  }
}

/** Run every check, keeping the findings of those that read only sound values. */
export function runChecks<T>(document: T, soundness: Soundness, checks: Iterable<Check<T>>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const check of checks) {
    if (soundness.clean) {
      issues.push(...check(document));
      continue;
    }
    const reads: string[] = [];
    let found: readonly ConfigIssue[];
    try {
      found = check(tracked(document, '', reads, new Map()) as T);
    } catch {
      // A malformed part (already reported by the schema) broke the check: nothing to add.
      continue;
    }
    if (reads.every((r) => soundness.sound(r))) issues.push(...found);
  }
  return issues;
}

/** A view of `value` that records the pointer of every property read through it. */
function tracked(value: unknown, pointer: string, reads: string[], views: Map<string, object>): unknown {
  if (value === null || typeof value !== 'object') return value;
  const existing = views.get(pointer);
  if (existing !== undefined) return existing;
  const target = value as Record<string | symbol, unknown>;
  const view = new Proxy(target, {
    get(t, key, receiver) {
      if (typeof key === 'symbol') return Reflect.get(t, key, receiver) as unknown;
      // Inherited members (array methods) are not data; `length` is a read of the list itself.
      if (!Object.hasOwn(t, key) && key in t) return Reflect.get(t, key, receiver) as unknown;
      if (Array.isArray(t) && key === 'length') {
        reads.push(pointer);
        return t.length;
      }
      const child = `${pointer}${toPointer([key])}`;
      reads.push(child);
      return tracked(t[key], child, reads, views);
    },
    has(t, key) {
      if (typeof key === 'string') reads.push(`${pointer}${toPointer([key])}`);
      return Reflect.has(t, key);
    },
    ownKeys(t) {
      reads.push(pointer);
      return Reflect.ownKeys(t);
    },
  });
  views.set(pointer, view);
  return view;
}

/** Read a raw (possibly malformed) document safely, for enumerating checks: undefined where a segment is missing. */
export function at(value: unknown, ...segments: string[]): unknown {
  let v = value;
  for (const s of segments) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[s] : undefined;
  return v;
}

/** Indices of a list (none when the value is not one): for enumerating checks over a possibly malformed document. */
export function indices(value: unknown): number[] {
  return Array.isArray(value) ? value.map((_, i) => i) : [];
}

/** Keys of a mapping (none when the value is not one). */
export function keysOf(value: unknown): string[] {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
}
