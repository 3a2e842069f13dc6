import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBatchWriter } from '../../src/audit/batch-writer.js';

const dir = (): string => mkdtempSync(join(tmpdir(), 'gatehouse-batch-writer-'));
const failOnError = (err: Error): never => { throw err; };

/** Fill a buffer from acquire() with `text` and submit it. */
function put(writer: ReturnType<typeof createBatchWriter>, text: string): Buffer {
  const buffer = writer.acquire();
  writer.submit(buffer, buffer.write(text, 0, 'utf8'));
  return buffer;
}

test('batches arrive whole and in order, in a folder it creates, and end() waits for the last', async () => {
  const path = join(dir(), 'nested', 'audit.log');
  const writer = createBatchWriter(path, 1024, failOnError);
  const expected: string[] = [];
  for (let i = 0; i < 200; i++) {
    const line = `{"n":${i}}\n`;
    expected.push(line);
    put(writer, line);
  }
  const long = `${'x'.repeat(5000)}\n`;
  writer.submit(Buffer.from(long), long.length, false);
  await writer.end();
  assert.equal(readFileSync(path, 'utf8'), expected.join('') + long);
});

test('a written batch\'s buffer is used again: the steady state allocates no new batch memory', async () => {
  const writer = createBatchWriter(join(dir(), 'audit.log'), 1024, failOnError);
  const first = put(writer, 'a\n');
  await writer.drained();
  const seen = new Set<ArrayBufferLike>([first.buffer]);
  for (let round = 0; round < 20; round++) {
    seen.add(put(writer, `line ${round}\n`).buffer);
    await writer.drained();
  }
  await writer.end();
  assert.equal(seen.size, 1, `${seen.size} distinct buffers for 21 sequential batches`);
});

test('appends to an existing file; reopen() after a move writes the rest to a new file at the path', async () => {
  const folder = dir();
  const path = join(folder, 'audit.log');
  const before = createBatchWriter(path, 1024, failOnError);
  put(before, 'old-1\n');
  await before.end();
  const writer = createBatchWriter(path, 1024, failOnError);
  put(writer, 'old-2\n');
  await writer.drained();
  renameSync(path, join(folder, 'audit.log.1'));
  writer.reopen();
  put(writer, 'new-1\n');
  await writer.end();
  assert.equal(readFileSync(join(folder, 'audit.log.1'), 'utf8'), 'old-1\nold-2\n');
  assert.equal(readFileSync(path, 'utf8'), 'new-1\n');
});

test('a path that cannot be opened is reported, not dropped quietly', async () => {
  const blocker = join(dir(), 'file');
  const writer0 = createBatchWriter(blocker, 64, failOnError);
  put(writer0, 'x\n');
  await writer0.end();
  const error = await new Promise<Error>((resolve) => { createBatchWriter(join(blocker, 'audit.log'), 64, resolve); });
  assert.match((error as NodeJS.ErrnoException).code ?? '', /^(ENOTDIR|EEXIST)$/);
});
