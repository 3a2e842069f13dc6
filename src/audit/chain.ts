/**
 * The hash chain of a tamper-evident audit file. Every line written by one writer (a single process,
 * or one cluster worker's slot) carries `"chain":{"id","seq","prev"}` and ends with `"hash"`: the
 * SHA-256 (base64url) of the line's bytes before `,"hash":"` — which include `prev`, the hash of the
 * writer's previous line. Editing, inserting, deleting or reordering a line breaks the chain at that
 * point; periodic checkpoints (signed, see sink.ts) make a rewritten chain and a cut tail visible.
 * The layout is documented for auditors in docs/audit.md; verify.ts checks it.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, renameSync, writeFileSync } from 'node:fs';

/** The `typ` header of a checkpoint's JWT. */
export const CHECKPOINT_TYP = 'gatehouse-audit-checkpoint+jwt';
/** What a line of the chain ends with, before its hash. */
export const HASH_MARK = ',"hash":"';
/** How much of an existing file's end is read to find where its chain stopped. */
const TAIL_BYTES = 1 << 20;

/** The last line a chain wrote: the next one follows it. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

export function lineHash(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('base64url');
}

/** The writer's side: each line it seals follows the one before. */
export class AuditChain {
  #seq: number;
  #hash: string | undefined;

  constructor(readonly id: string, head?: ChainHead) {
    this.#seq = head?.seq ?? -1;
    this.#hash = head?.hash;
  }

  get head(): ChainHead | undefined {
    return this.#hash === undefined ? undefined : { seq: this.#seq, hash: this.#hash };
  }

  /** `line` (one JSON object and a newline, as formatAuditLine makes it) as the chain's next line. */
  seal(line: string): string {
    const body = `${line.slice(0, line.endsWith('}\n') ? -2 : -1)},"chain":{"id":${JSON.stringify(this.id)},"seq":${this.#seq + 1},"prev":${this.#hash === undefined ? 'null' : `"${this.#hash}"`}}`;
    this.#seq += 1;
    this.#hash = lineHash(body);
    return `${body}${HASH_MARK}${this.#hash}"}\n`;
  }
}

/** Where chain `id` stopped in the file at `path` (its last complete line), if it wrote there. */
export function headInFile(path: string, id: string): ChainHead | undefined {
  if (!existsSync(path)) return undefined;
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, TAIL_BYTES);
    const tail = Buffer.alloc(length);
    readSync(fd, tail, 0, length, size - length);
    const lines = tail.toString('utf8').split('\n');
    lines.pop(); // after the last newline: empty, or a line cut short
    const tag = `"chain":{"id":${JSON.stringify(id)},`;
    for (let i = lines.length - 1; i >= 0; i--) {
      const line = lines[i]!;
      if (!line.includes(tag)) continue;
      try {
        const parsed = JSON.parse(line) as { chain?: { id?: unknown; seq?: unknown }; hash?: unknown };
        if (parsed.chain?.id === id && typeof parsed.chain.seq === 'number' && typeof parsed.hash === 'string') return { seq: parsed.chain.seq, hash: parsed.hash };
      } catch {
        // Not a whole line of ours (the first one of the tail read may be cut): look further back.
      }
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** The state file beside the audit file: each chain's head at its last checkpoint, for after a rotation. */
export const stateFile = (path: string, id: string): string => `${path}.chain-${id}`;

export function readState(path: string, id: string): ChainHead | undefined {
  try {
    const s = JSON.parse(readFileSync(stateFile(path, id), 'utf8')) as { seq?: unknown; hash?: unknown };
    return typeof s.seq === 'number' && typeof s.hash === 'string' ? { seq: s.seq, hash: s.hash } : undefined;
  } catch {
    return undefined;
  }
}

export function writeState(path: string, id: string, head: ChainHead): void {
  const file = stateFile(path, id);
  writeFileSync(`${file}.tmp`, JSON.stringify(head), { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/** Where chain `id` continues: the file's own last line, else (a file rotated away) the saved state, whichever is later. */
export function resumeHead(path: string, id: string): ChainHead | undefined {
  const inFile = headInFile(path, id);
  const saved = readState(path, id);
  if (inFile === undefined) return saved;
  return saved !== undefined && saved.seq > inFile.seq ? saved : inFile;
}
