import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { RequestRecord } from '../observe/events.js';
import { queryRedactor } from './query.js';
import { AuditChain, resumeHead, writeState } from './chain.js';
import { createBatchWriter } from './batch-writer.js';

export interface AuditSink {
  close(): Promise<void>;
  /** Reopen the file at its path (after logrotate moved it); the hash chain continues in the new file. */
  reopen(): void;
}

/** Signs a checkpoint's claims (the gateway's assertion key: its JWKS verifies them). */
export type CheckpointSigner = (claims: Record<string, unknown>) => Promise<string>;

/** A tamper-evident file: every line hash-chained, signed checkpoints every `everyMs` and at close. */
export interface AuditIntegrity {
  /** The writer's chain: `main`, or `w<slot>` for a cluster worker. */
  readonly chainId: string;
  readonly everyMs: number;
  readonly sign: CheckpointSigner;
}

const DEFAULT_REDACTOR = queryRedactor();
const NO_QUERY = (): string => '';

/** The audited query: null when there is none or it is not recorded. */
function queryJson(query: string, redact: (query: string) => string): string {
  const q = query === '' ? '' : redact(query);
  return q === '' ? 'null' : json(q);
}

const json = JSON.stringify;

const optional = (v: string | undefined): string => (v === undefined ? 'null' : json(v));

// The small objects of a record are written field by field: no JSON.stringify of an object per request.
/** Claims of a refused token are the caller's text: bounded, and escaped like any other string. */
const claimed = (v: string): string => json(v.length > 256 ? `${v.slice(0, 256)}…` : v);

function unverifiedJson(u: NonNullable<RequestRecord['authn']['unverified']>): string {
  const parts = [...(u.issuer === undefined ? [] : [`"issuer":${claimed(u.issuer)}`]), ...(u.tenant === undefined ? [] : [`"tenant":${claimed(u.tenant)}`])];
  return `,"unverified":{${parts.join(',')}}`;
}

/**
 * Decisions and successful authentication outcomes are objects made at load and shared by every
 * request they apply to, so their JSON is memoized by object; a refusal's outcome is per request.
 * Correctness never depends on it: an object met once is simply serialized once more.
 */
const memo = new WeakMap<object, string>();

function memoized<T extends object>(o: T, serialize: (o: T) => string): string {
  let s = memo.get(o);
  if (s === undefined) memo.set(o, (s = serialize(o)));
  return s;
}

const authnField = (a: RequestRecord['authn']): string => (a.result === 'refused' ? authnJson(a) : memoized(a, authnJson));
const decisionField = (d: RequestRecord['decision']): string => (d === undefined ? 'null' : memoized(d, decisionJson));

function authnJson(a: RequestRecord['authn']): string {
  return `{"result":"${a.result}"${a.reason === undefined ? '' : `,"reason":"${a.reason}"`}${a.provider === undefined ? '' : `,"provider":${json(a.provider)}`}` +
    `${a.unverified === undefined ? '' : unverifiedJson(a.unverified)}}`;
}

function decisionJson(d: NonNullable<RequestRecord['decision']>): string {
  return `{"allow":${d.allow}${d.rule === undefined ? '' : `,"rule":${json(d.rule)}`},"reason":"${d.reason}"}`;
}

function limitJson(l: RequestRecord['limit']): string {
  if (l === undefined) return 'null';
  return `{"result":"${l.result}"${l.name === undefined ? '' : `,"name":${json(l.name)}`}${l.plan === undefined ? '' : `,"plan":${json(l.plan)}`}${l.fallback ? ',"fallback":true' : ''}}`;
}

/** A broker upstream's message (only on lines of broker routes). */
function messageJson(m: NonNullable<RequestRecord['message']>): string {
  return `{"destination":${json(m.destination)},"id":${json(m.id)},"broker_id":${optional(m.brokerId)},"duplicate":${m.duplicate === true},"confirm_ms":${m.confirmMs === undefined ? 'null' : ms(m.confirmMs)}}`;
}

/** A proxied WebSocket's traffic and close (only on lines of WebSocket upgrades). */
function websocketJson(w: NonNullable<RequestRecord['websocket']>): string {
  return `{"messages_in":${w.messagesIn},"messages_out":${w.messagesOut},"close_code":${w.closeCode},"closed_by":"${w.closedBy}"}`;
}

/**
 * Milliseconds rounded to the microsecond, as JSON (never NaN or Infinity). Built from integers
 * ("1.200"): printing the rounded double took ~1 µs per request (V8's shortest-repr conversion).
 */
function ms(v: number): string {
  if (!(v >= 0 && v < 1e12)) return Number.isFinite(v) ? String(Math.round(v * 1000) / 1000) : 'null';
  const micros = Math.round(v * 1000);
  const whole = Math.floor(micros / 1000);
  const frac = micros - whole * 1000;
  return `${whole}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}

// The line prefix carries the ISO timestamp (when the request arrived); it changes at most once per millisecond.
let prefixMs = -1;
let prefix = '';

/**
 * One audit line: the pino-compatible envelope (`level`, `time`, `type`) and the fields in their
 * stable order (log pipelines rely on it). Every string a client can influence goes through
 * JSON.stringify; request ids, traceparents (generated or re-built from validated hex) and error
 * codes are ours.
 */
export function formatAuditLine(r: RequestRecord, redact: (query: string) => string = DEFAULT_REDACTOR): string {
  if (r.time !== prefixMs) {
    prefixMs = r.time;
    prefix = `{"level":30,"time":"${new Date(r.time).toISOString()}","type":"audit",`;
  }
  return `${prefix}"request_id":"${r.requestId}","traceparent":"${r.traceparent}","route":${optional(r.route)},"method":${json(r.method)},` +
    `"path":${json(r.path)},"query":${queryJson(r.query, redact)},"host":${json(r.host)},"client_address":${json(r.clientAddress)},` +
    `"identity":${r.identity ? r.identity.auditJson : 'null'},"authn":${authnField(r.authn)},"decision":${decisionField(r.decision)},` +
    `"limit":${limitJson(r.limit)},"upstream":${optional(r.upstream)},"credentials":${r.credentials === undefined ? 'null' : json(r.credentials)},"upstream_path":${optional(r.upstreamPath)},"upstream_status":${r.upstreamStatus ?? 'null'},"status":${r.status},"error":${r.error === undefined ? 'null' : `"${r.error}"`},` +
    `"error_detail":${optional(r.errorDetail)},` +
    `"bytes_in":${r.bytesIn},"bytes_out":${r.bytesOut},"duration_ms":${ms(r.durationMs)},"upstream_ms":${r.upstreamMs === undefined ? 'null' : ms(r.upstreamMs)}` +
    `${r.upstreamRetries === undefined ? '' : `,"upstream_target":${optional(r.upstreamTarget)},"upstream_retries":${r.upstreamRetries}`}` +
    `${r.message === undefined ? '' : `,"message":${messageJson(r.message)}`}${r.websocket === undefined ? '' : `,"websocket":${websocketJson(r.websocket)}`}${r.grpcStatus === undefined ? '' : `,"grpc_status":${r.grpcStatus}`}${r.forwardAuth ? ',"forward_auth":true' : ''}}\n`;
}

/** A batch goes to the writer when it is this full or every FLUSH_MS. */
const BATCH_BYTES = 16_384;
const FLUSH_MS = 200;
/** UTF-8 takes at most 3 bytes per UTF-16 code unit: the room a line needs, whatever it holds. */
const MAX_BYTES_PER_CHAR = 3;

/** Subscribe an asynchronous, batching writer (stdout or an appended file) to finished requests. */
export function startAuditSink(opts: { sink: 'stdout' | 'file' | 'off'; path?: string | undefined; query?: boolean; redactQuery?: readonly string[] }, integrity?: AuditIntegrity): AuditSink {
  if (opts.sink === 'off') return { async close() {}, reopen() {} };
  const redact = opts.query === false ? NO_QUERY : queryRedactor(opts.redactQuery);
  // Lines are encoded straight into a 16 KiB buffer, handed to the writer when full and at least
  // every 200 ms, so a busy gateway writes in batches and a quiet one still shows each line promptly.
  // Encoding each line once here replaced two costlier paths: sonic-boom's string mode re-measured
  // (flattened) its pending buffer on every write (8 KiB of garbage per request), and a batched string
  // is converted to UTF-8 on the main thread at write time (2.9 µs per request measured). The writer
  // reuses the buffers (batch-writer.ts says why). Every write holds whole lines (O_APPEND), so several
  // workers can share one file.
  const writer = createBatchWriter(opts.sink === 'file' ? opts.path! : 1, BATCH_BYTES, (err) => {
    // As an unhandled stream error would: a gateway that cannot write its audit trail does not go on serving.
    setImmediate(() => { throw err; });
  });
  let batch = writer.acquire();
  let used = 0;
  const flush = (): void => {
    if (used === 0) return;
    writer.submit(batch, used);
    batch = writer.acquire();
    used = 0;
  };
  const flusher = setInterval(flush, FLUSH_MS);
  flusher.unref();
  const write = (line: string): void => {
    const room = line.length * MAX_BYTES_PER_CHAR;
    if (used + room > BATCH_BYTES) {
      flush();
      // A line longer than a batch (a long path or claim) goes out on its own, in order.
      if (room > BATCH_BYTES) {
        const whole = Buffer.from(line, 'utf8');
        writer.submit(whole, whole.length, false);
        return;
      }
    }
    used += batch.write(line, used, 'utf8');
  };
  const chained = integrity === undefined || opts.sink !== 'file' ? undefined : startChain(opts.path!, integrity, (line) => write(line));
  const onRecord = (message: unknown): void => {
    const line = formatAuditLine(message as RequestRecord, redact);
    write(chained === undefined ? line : chained.chain.seal(line));
  };
  subscribe('gatehouse:request:end', onRecord);
  return {
    reopen() {
      flush();
      writer.reopen();
    },
    async close() {
      unsubscribe('gatehouse:request:end', onRecord);
      await chained?.close();
      clearInterval(flusher);
      flush();
      // Waits for the file to open and for a write in flight, then writes the rest in order.
      await writer.end();
    },
  };
}

/**
 * The chain of a tamper-evident file, continued from where this writer's chain stopped (the file's
 * last line of it, or the state saved at its last checkpoint when the file was rotated away), and
 * its checkpoints: every `everyMs` when lines were written since the last, and a final one at close.
 */
function startChain(path: string, integrity: AuditIntegrity, write: (line: string) => void): { chain: AuditChain; close(): Promise<void> } {
  const chain = new AuditChain(integrity.chainId, resumeHead(path, integrity.chainId));
  let checkpointed = chain.head?.seq ?? -1;
  let signing: Promise<void> = Promise.resolve();
  const checkpoint = (final: boolean): Promise<void> => {
    const head = chain.head;
    if (head === undefined || (!final && head.seq === checkpointed)) return signing;
    checkpointed = head.seq;
    const claims = { chain: integrity.chainId, seq: head.seq, hash: head.hash, final };
    // One signing at a time, in order: checkpoints appear in the order of the heads they sign.
    signing = signing.then(async () => {
      const jws = await integrity.sign(claims);
      write(chain.seal(`{"level":30,"time":"${new Date().toISOString()}","type":"audit_checkpoint","checkpoint":{"seq":${head.seq},"hash":"${head.hash}","final":${final},"jws":"${jws}"}}\n`));
      writeState(path, integrity.chainId, chain.head!);
    }).catch(() => {
      // A checkpoint that cannot be signed is missing from the file, which the verifier reports; lines keep their chain.
      checkpointed = -1;
    });
    return signing;
  };
  const timer = setInterval(() => { void checkpoint(false); }, integrity.everyMs);
  timer.unref();
  return {
    chain,
    async close() {
      clearInterval(timer);
      await checkpoint(true);
    },
  };
}
