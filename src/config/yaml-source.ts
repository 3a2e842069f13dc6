import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, visit, type Document, type Node, type YAMLError } from 'yaml';
import type { ConfigIssue } from './issue.js';
import { fromPointer } from './pointer.js';
import { valueKind } from './json-schema.js';

/** A parsed config document and a way back from a JSON pointer to its place in the text. */
export interface ParsedSource {
  readonly value: unknown;
  readonly issues: readonly ConfigIssue[];
  readonly warnings: readonly string[];
  /** Line and column (1-based) of the deepest node on the pointer's path. */
  locate(pointer: string): { line: number; column: number } | undefined;
}

/** Parse YAML (JSON is YAML 1.2) keeping positions; syntax errors and duplicate keys become issues. */
export function parseSource(text: string): ParsedSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text.replace(/^\uFEFF/, ''), { lineCounter, uniqueKeys: true, prettyErrors: true });
  const position = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const locate = (pointer: string) => {
    const offset = offsetOf(doc, pointer);
    return offset === undefined ? undefined : position(offset);
  };
  const warnings = doc.warnings.map((w) => `line ${w.linePos?.[0].line ?? '?'}: ${firstLine(w)}`);
  if (doc.errors.length > 0) return { value: undefined, issues: doc.errors.map((e) => syntaxIssue(doc, e)), warnings, locate };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return { value: undefined, issues: [{ path: '', message: (err as Error).message }], warnings, locate };
  }
  if (valueKind(value) !== 'object') {
    const what = value === undefined || value === null ? 'the file is empty' : `got ${valueKind(value)}`;
    return { value: undefined, issues: [{ path: '', message: `expected a YAML mapping (or JSON object) at the top level: ${what}`, line: 1, column: 1 }], warnings, locate };
  }
  return { value, issues: [], warnings, locate };
}

function firstLine(error: YAMLError): string {
  return error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

function syntaxIssue(doc: Document, error: YAMLError): ConfigIssue {
  const pos = error.linePos?.[0];
  let message = firstLine(error);
  if (error.code === 'DUPLICATE_KEY') {
    const key = keyAt(doc, error.pos[0]);
    message = key === undefined ? 'duplicate key' : `duplicate key ${JSON.stringify(key)}`;
  }
  return pos ? { path: '', message, line: pos.line, column: pos.col } : { path: '', message };
}

function keyAt(doc: Document, offset: number): unknown {
  let key: unknown;
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.range?.[0] === offset) {
        key = pair.key.value;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return key;
}

/** Offset of the key (in a mapping) or item (in a list) the pointer names, or of its deepest existing ancestor. */
function offsetOf(doc: Document, pointer: string): number | undefined {
  let node: unknown = doc.contents;
  let offset = (node as Node | null)?.range?.[0];
  for (const segment of fromPointer(pointer)) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === segment);
      if (!pair) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(segment)] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else break;
  }
  return offset;
}
