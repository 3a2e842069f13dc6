// Allocation profile of a running gateway, including objects the GC already collected (what
// `--heap-prof` leaves out): preload with `node --import ./bench/heap-sample.mjs`, e.g.
//   NODE_EXTRA="--import $PWD/bench/heap-sample.mjs" bash bench/candidate.sh
// Sampling starts HEAP_SAMPLE_DELAY_MS (default 3000) after start, every HEAP_SAMPLE_BYTES
// (default 4096) allocated bytes on average; on SIGTERM the profile is written to
// $HEAP_SAMPLE_DIR/heap-<pid>.json (default /tmp). Summarize with bench/heap-top.mjs.
// HEAP_SAMPLE_SURVIVORS=1 leaves out what minor GCs collected: what is left is what survived the young
// generation (promoted to old space, or still live at the end), i.e. what drives the major GCs.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const session = new Session();
session.connect();
session.post('HeapProfiler.enable');
setTimeout(() => {
  session.post('HeapProfiler.startSampling', {
    samplingInterval: Number(process.env.HEAP_SAMPLE_BYTES ?? 4096),
    includeObjectsCollectedByMinorGC: process.env.HEAP_SAMPLE_SURVIVORS !== '1',
    includeObjectsCollectedByMajorGC: true,
  });
}, Number(process.env.HEAP_SAMPLE_DELAY_MS ?? 3000)).unref();
process.prependListener('SIGTERM', () => {
  session.post('HeapProfiler.stopSampling', (err, result) => {
    if (!err) writeFileSync(join(process.env.HEAP_SAMPLE_DIR ?? '/tmp', `heap-${process.pid}.json`), JSON.stringify(result.profile));
  });
});
