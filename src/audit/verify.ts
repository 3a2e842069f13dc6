/**
 * `gatehouse audit verify`: check tamper-evident audit files (chain.ts) in the order given. Each
 * writer's chain must run unbroken from its first record (seq 0) to a final checkpoint; every
 * checkpoint's signature must verify against the gateway's JWKS and name a hash the chain really
 * had. The first problem of each kind is reported with file and line.
 */
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { CHECKPOINT_TYP, HASH_MARK, lineHash } from './chain.js';

export type ProblemKind = 'modified' | 'inserted' | 'deleted' | 'reordered' | 'truncated' | 'checkpoint' | 'unsealed';

export interface Problem {
  readonly kind: ProblemKind;
  readonly file: string;
  /** 1-based line, or 0 for the end of the files. */
  readonly line: number;
  readonly chain?: string;
  readonly message: string;
}

export interface ChainSummary {
  readonly records: number;
  readonly checkpoints: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly sealed: boolean;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly records: number;
  readonly chains: Record<string, ChainSummary>;
  readonly problems: readonly Problem[];
  /** Checkpoint signatures were checked (a JWKS was given). */
  readonly signatures: boolean;
}

/** How many recent hashes per chain a checkpoint may refer back to (it signs a head of a moment before). */
const RECENT = 4096;
const MARK = Buffer.from(HASH_MARK);
const NEWLINE = 0x0a;

interface ChainState {
  seq: number;
  hash: string;
  firstSeq: number;
  records: number;
  checkpoints: number;
  sealed: boolean;
  lastCheckpointSeq: number;
  readonly recent: Map<number, string>;
}

interface Checkpoint { seq?: unknown; hash?: unknown; final?: unknown; jws?: unknown }
interface Record_ { type?: unknown; chain?: { id?: unknown; seq?: unknown; prev?: unknown }; hash?: unknown; checkpoint?: Checkpoint }

/** The lines of a file as bytes; a last line without its newline is returned separately (cut short). */
function linesOf(bytes: Buffer): { lines: Buffer[]; cut: Buffer | undefined } {
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = bytes.indexOf(NEWLINE); i !== -1; i = bytes.indexOf(NEWLINE, start)) {
    lines.push(bytes.subarray(start, i));
    start = i + 1;
  }
  return { lines, cut: start < bytes.length ? bytes.subarray(start) : undefined };
}

export async function verifyAuditFiles(files: readonly string[], jwks?: JSONWebKeySet): Promise<VerifyReport> {
  const keys = jwks === undefined ? undefined : createLocalJWKSet(jwks);
  const chains = new Map<string, ChainState>();
  const problems: Problem[] = [];
  let records = 0;
  let last: { file: string; line: number } = { file: files[0] ?? '', line: 0 };
  for (const file of files) {
    const { lines, cut } = linesOf(readFileSync(file));
    for (let n = 0; n < lines.length; n++) {
      const at = { file, line: n + 1 };
      last = at;
      const bytes = lines[n]!;
      if (bytes.length === 0) continue;
      records++;
      const problem = (kind: ProblemKind, message: string, chain?: string): void => { problems.push({ kind, ...at, ...(chain === undefined ? {} : { chain }), message }); };
      const mark = bytes.lastIndexOf(MARK);
      let parsed: Record_;
      try {
        parsed = JSON.parse(bytes.toString('utf8')) as Record_;
      } catch {
        problem('modified', 'not a JSON record (modified, or two records run together)');
        continue;
      }
      const id = parsed.chain?.id;
      const seq = parsed.chain?.seq;
      if (mark === -1 || typeof id !== 'string' || typeof seq !== 'number' || typeof parsed.hash !== 'string') {
        problem('inserted', 'a record without its chain fields (not written by the gateway, or modified)');
        continue;
      }
      if (lineHash(bytes.subarray(0, mark)) !== parsed.hash) {
        problem('modified', `the record does not match its hash (seq ${seq}): it was modified`, id);
      }
      const state = chains.get(id);
      const prev = parsed.chain?.prev ?? null;
      if (state === undefined) {
        if (seq !== 0 || prev !== null) problem('deleted', `chain ${id} starts at seq ${seq}: the records before it are missing (if they are in earlier files, give those first)`, id);
      } else if (seq <= state.seq) {
        problem('reordered', `seq ${seq} of chain ${id} comes after seq ${state.seq}: records were reordered or copied`, id);
      } else if (seq > state.seq + 1) {
        problem('deleted', `seq ${state.seq + 1}${seq - 1 > state.seq + 1 ? `–${seq - 1}` : ''} of chain ${id} ${seq - 1 > state.seq + 1 ? 'are' : 'is'} missing before this record: deleted`, id);
      } else if (prev !== state.hash) {
        problem('inserted', `seq ${seq} of chain ${id} does not follow the record before it: a record was inserted or replaced`, id);
      }
      const s: ChainState = state ?? { seq, hash: parsed.hash, firstSeq: seq, records: 0, checkpoints: 0, sealed: false, lastCheckpointSeq: -1, recent: new Map() };
      chains.set(id, s);
      s.seq = seq;
      s.hash = parsed.hash;
      s.records++;
      s.sealed = false;
      s.recent.set(seq, parsed.hash);
      if (s.recent.size > RECENT) s.recent.delete(s.recent.keys().next().value!);
      if (parsed.type === 'audit_checkpoint') {
        s.checkpoints++;
        const found = await checkpointProblem(parsed.checkpoint ?? {}, id, s, keys);
        if (found !== undefined) problem('checkpoint', found, id);
        else {
          s.lastCheckpointSeq = seq;
          s.sealed = parsed.checkpoint?.final === true;
        }
      }
    }
    if (cut !== undefined) problems.push({ kind: 'truncated', file, line: lines.length + 1, message: `the file ends in the middle of a record (${cut.length} bytes without a newline): truncated` });
  }
  for (const [id, s] of chains) {
    if (!s.sealed) {
      const after = s.lastCheckpointSeq < 0 ? `${s.records} records and no valid checkpoint` : `${s.seq - s.lastCheckpointSeq} records after its last checkpoint`;
      problems.push({ kind: 'unsealed', ...last, line: 0, chain: id, message: `chain ${id} ends with ${after} and no final checkpoint: the tail was truncated, or the gateway is still writing or did not stop cleanly` });
    }
  }
  const summary = Object.fromEntries([...chains].map(([id, s]) => [id, { records: s.records, checkpoints: s.checkpoints, firstSeq: s.firstSeq, lastSeq: s.seq, sealed: s.sealed }]));
  return { ok: problems.length === 0, records, chains: summary, problems, signatures: keys !== undefined };
}

/** What is wrong with a checkpoint, or undefined. */
async function checkpointProblem(c: Checkpoint, id: string, s: ChainState, keys: ReturnType<typeof createLocalJWKSet> | undefined): Promise<string | undefined> {
  if (typeof c.seq !== 'number' || typeof c.hash !== 'string' || typeof c.jws !== 'string') return 'a checkpoint without seq, hash and signature';
  const had = s.recent.get(c.seq);
  if (had !== c.hash) return `the checkpoint names seq ${c.seq} with a hash the chain ${had === undefined ? 'does not have (among its recent records)' : 'did not have there'}: records before it were rewritten`;
  if (keys === undefined) return undefined;
  try {
    const { payload } = await jwtVerify(c.jws, keys, { typ: CHECKPOINT_TYP });
    if (payload.chain !== id || payload.seq !== c.seq || payload.hash !== c.hash || payload.final !== c.final) return 'the checkpoint\'s signed claims differ from the checkpoint record: forged';
    return undefined;
  } catch (err) {
    return `the checkpoint's signature does not verify with the keys given (${(err as { code?: string }).code ?? (err as Error).name}): forged, or signed by a key not in the JWKS`;
  }
}
