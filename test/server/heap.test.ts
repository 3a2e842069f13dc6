import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { AUTO_HEADROOM_CAP, autoHeadroom, growingPercent, headroomBytes } from '../../src/server/heap.js';
import { spawnCli } from '../harness/run-cli.js';
import { startUpstream } from '../harness/upstream.js';
import { writeConfig } from '../harness/gateway.js';

const MiB = 1024 * 1024;
const churn = fileURLToPath(new URL('../fixtures/heap-churn.ts', import.meta.url));
const run = promisify(execFile);

/** The fixture in its own process: full GCs seen while its old generation fills with garbage. */
async function churnWith(headroom: string, nodeFlags: string[] = []): Promise<{ majors: number; percent?: number }> {
  // A 512 MiB heap limit caps V8's own growth factor well under 2, so the difference is V8's rule, not noise.
  const { stdout } = await run(process.execPath, ['--max-old-space-size=512', ...nodeFlags, '--import', 'tsx', churn, headroom], { env: { ...process.env, WORK_KB: '64', TOTAL: '8000000' } });
  return JSON.parse(stdout) as { majors: number; percent?: number };
}

describe('heap headroom rule', () => {
  test('auto: 128 MiB, capped by a quarter of the memory limit and an eighth of the heap limit', () => {
    assert.equal(autoHeadroom({ constrained: undefined, heapLimit: 4096 * MiB }), AUTO_HEADROOM_CAP);
    assert.equal(autoHeadroom({ constrained: 256 * MiB, heapLimit: 4096 * MiB }), 64 * MiB);
    assert.equal(autoHeadroom({ constrained: 2 ** 64, heapLimit: 4096 * MiB }), AUTO_HEADROOM_CAP, 'no cgroup limit (a huge number) is no cap');
    assert.equal(autoHeadroom({ constrained: 0, heapLimit: 256 * MiB }), 32 * MiB);
  });

  test('the percent never falls under V8\'s own largest factor, and never lets the heap past half the memory limit', () => {
    assert.equal(growingPercent(128 * MiB, 28 * MiB), 457);
    assert.equal(growingPercent(128 * MiB, 100 * MiB), 300, 'a large live heap still grows 4x (V8\'s own bound)');
    assert.equal(growingPercent(0, 28 * MiB), 0, 'off');
    assert.equal(growingPercent(128 * MiB, 28 * MiB, 1024 * MiB), 457, 'fits in half of 1 GiB');
    assert.equal(growingPercent(128 * MiB, 28 * MiB, 256 * MiB), 357, 'capped at half of 256 MiB: 28 -> 128 MiB');
    assert.equal(growingPercent(128 * MiB, 40 * MiB, 256 * MiB), 0, 'under 4x fits: V8 decides');
  });

  test('config values: auto, off and sizes', () => {
    assert.equal(headroomBytes('off'), 0);
    assert.equal(headroomBytes('64mb'), 64 * 1000 * 1000);
    assert.equal(headroomBytes('64mib'), 64 * MiB);
    assert.ok(headroomBytes('auto') > 0 && headroomBytes('auto') <= AUTO_HEADROOM_CAP);
    assert.equal(headroomBytes(undefined), headroomBytes('auto'));
  });
});

describe('heap headroom in a process', () => {
  test('with a headroom, old-generation garbage brings far fewer full GCs than V8\'s own rule', async () => {
    const [off, held] = await Promise.all([churnWith('off'), churnWith('128mb')]);
    assert.equal(off.percent, 0);
    assert.ok((held.percent ?? 0) >= 300, `percent ${held.percent}`);
    assert.ok(held.majors * 3 <= off.majors, `full GCs: ${held.majors} with the headroom, ${off.majors} without`);
  });

  test('node started with --heap-growing-percent: the operator\'s flag wins, the gateway sets nothing', async () => {
    const result = await churnWith('128mb', ['--heap-growing-percent=50']);
    assert.equal(result.percent, undefined);
  });

  test('the CLI applies heap.headroom and says so when it starts listening', async () => {
    const upstream = await startUpstream((_req, res) => { res.end('ok'); });
    const start = async (heap: unknown): Promise<string> => {
      const file = writeConfig(JSON.stringify({
        listen: { port: 0, host: '127.0.0.1' }, admin: { port: 0 }, audit: { sink: 'off' }, heap,
        routes: [{ name: 'open', match: { path: '/*' }, public: true, upstream: { url: upstream.url } }],
      }));
      const gw = await spawnCli(['start', '-c', file], /"heapGrowingPercent":(\d+)[^\n]*gatehouse listening/);
      gw.child.kill('SIGTERM');
      await gw.exited;
      return gw.match[1]!;
    };
    try {
      assert.ok(Number(await start({ headroom: '256mb' })) >= 300);
      assert.equal(await start({ headroom: 'off' }), '0');
    } finally {
      await upstream.close();
    }
  });
});
