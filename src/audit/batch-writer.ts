import { close, mkdir, open, write } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The audit sink's writer: batches of whole lines written in order to stdout or to a file opened for
 * appending (O_APPEND, so several workers can share one file), from a few buffers used over and over.
 *
 * Why not sonic-boom (pino's destination, used before): it took each batch as a new Buffer and, on
 * Node ≥ 22.7, copied it once more before writing. A 16 KiB buffer per ~30 requests is ~0.5 kB of
 * memory outside the heap per request, and V8 starts a full GC every 64 MiB of that ("external memory
 * pressure"): under load one every ~7 s, each stopping the loop for 20–40 ms (bench/RESULTS.md). Here a
 * batch is written from its buffer and the buffer returns to the free list when the write completes.
 */
export interface BatchWriter {
  /** A buffer to fill with the next batch (from the free list, or a new one when all are in flight). */
  acquire(): Buffer;
  /** Queue the first `length` bytes of a buffer from acquire(), or of any buffer (`recycle: false`). */
  submit(buffer: Buffer, length: number, recycle?: boolean): void;
  /** Write the queue out, then append to a new file at the same path (after logrotate moved it). */
  reopen(): void;
  /** Resolves once everything submitted so far is written. */
  drained(): Promise<void>;
  /** Write the queue out and close the file. */
  end(): Promise<void>;
}

/** Buffers kept for reuse: enough for the batches a slow disk has in flight, not a growing pool. */
const FREE_MAX = 4;
/** A pipe to a slow reader answers EAGAIN: try again shortly (as sonic-boom does). */
const EAGAIN_RETRY_MS = 10;

interface Pending { buffer: Buffer; length: number; offset: number; recycle: boolean }

/** A writer for `dest` (1: stdout, or a file path); `onError` gets a failed open or write (it should not return quietly). */
export function createBatchWriter(dest: 1 | string, batchBytes: number, onError: (err: Error) => void): BatchWriter {
  const free: Buffer[] = [];
  const queue: Pending[] = [];
  let fd = -1;
  let writing = false;
  let reopenPending = false;
  let drainWaiters: (() => void)[] = [];

  const openFile = (then: (fd: number) => void): void => {
    const path = dest as string;
    mkdir(dirname(path), { recursive: true }, (mkErr) => {
      if (mkErr) return onError(mkErr);
      open(path, 'a', 0o644, (err, opened) => (err ? onError(err) : then(opened)));
    });
  };

  const idle = (): void => {
    const waiters = drainWaiters;
    drainWaiters = [];
    for (const w of waiters) w();
  };

  const pump = (): void => {
    if (writing || fd < 0) return;
    if (reopenPending) {
      reopenPending = false;
      writing = true;
      const old = fd;
      openFile((next) => {
        fd = next;
        writing = false;
        close(old, () => undefined);
        pump();
      });
      return;
    }
    const head = queue[0];
    if (!head) return idle();
    writing = true;
    write(fd, head.buffer, head.offset, head.length - head.offset, null, (err, n) => {
      writing = false;
      if (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return void setTimeout(pump, EAGAIN_RETRY_MS);
        return onError(err);
      }
      head.offset += n;
      if (head.offset >= head.length) {
        queue.shift();
        if (head.recycle && free.length < FREE_MAX) free.push(head.buffer);
      }
      pump();
    });
  };

  const drained = (): Promise<void> => new Promise<void>((resolve) => {
    drainWaiters.push(resolve);
    pump();
  });

  if (dest === 1) fd = 1;
  else openFile((opened) => { fd = opened; pump(); });

  return {
    acquire: () => free.pop() ?? Buffer.allocUnsafeSlow(batchBytes),
    submit(buffer, length, recycle = true) {
      if (length === 0) return;
      queue.push({ buffer, length, offset: 0, recycle });
      pump();
    },
    reopen() {
      if (dest === 1) return;
      reopenPending = true;
      pump();
    },
    drained,
    async end() {
      await drained();
      if (dest === 1 || fd < 0) return;
      const last = fd;
      fd = -1;
      await new Promise<void>((resolve) => close(last, () => resolve()));
    },
  };
}
