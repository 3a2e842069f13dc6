import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { runGateway } from '../../src/server/run.js';
import { freePort } from '../harness/redis.js';

// A gateway that cannot take its admin port fails to start and releases the public port it had
// already bound (an embedding process, or the next attempt, finds nothing left behind).
const listen = (port: number): Promise<Server> => new Promise((resolve, reject) => {
  const s = createServer();
  s.once('error', reject).listen(port, '127.0.0.1', () => resolve(s));
});

test('an admin port in use: the start fails with EADDRINUSE and the public port is free again', async () => {
  const taken = await listen(0);
  const adminPort = (taken.address() as { port: number }).port;
  const publicPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-start-failure-'));
  const file = join(dir, 'gatehouse.yaml');
  writeFileSync(file, JSON.stringify({
    listen: { port: publicPort, host: '127.0.0.1' }, admin: { port: adminPort, host: '127.0.0.1' },
    audit: { sink: 'file', path: join(dir, 'audit.log') },
    routes: [{ name: 'open', match: { path: '/*' }, public: true, upstream: { url: 'http://127.0.0.1:9' } }],
  }));
  try {
    await assert.rejects(runGateway(file, pino({ level: 'silent' })), (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE');
    const again = await listen(publicPort);
    await new Promise((r) => again.close(r));
  } finally {
    await new Promise((r) => taken.close(r));
  }
});
