import v8 from 'node:v8';
import { constrainedMemory, execArgv, versions } from 'node:process';
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { parseSize } from '../config/units.js';

/**
 * How far the old generation may grow past what the last full GC left before the next one starts.
 *
 * Why: V8 sizes that growth from how cheap its collections have been. A gateway's heap is small and its
 * collections look cheap, so V8 picks its minimum (about 10 %): under load a 28 MB heap had a full GC
 * every ~0.8 s, each stopping the loop for 20–40 ms, which was most of the p99 (bench/RESULTS.md,
 * "the tail"). A fixed headroom in bytes spaces them out without letting a large heap grow by a
 * multiple of itself. `--heap-growing-percent` is the one V8 knob for it; it is read when V8 recomputes
 * its limits after each full GC, so it is safe to set while running (the flags that change how the heap
 * is laid out or threaded are not: V8 aborts), and it is re-derived from the live size after every full GC.
 */
export const AUTO_HEADROOM_CAP = 128 * 1024 * 1024;

/**
 * V8's own growth factor is at most 4 (`kMaxGrowingFactor`): a percent of at least 300 never brings full
 * GCs sooner than V8 would have. Below it the gateway leaves the choice to V8.
 */
const MIN_PERCENT = 300;

/** The headroom `heap.headroom: auto` means here: 128 MiB, at most 1/4 of the memory limit and 1/8 of V8's heap limit. */
export function autoHeadroom(limits: { constrained: number | undefined; heapLimit: number }): number {
  const caps = [AUTO_HEADROOM_CAP, Math.floor(limits.heapLimit / 8)];
  const constrained = memoryLimit(limits.constrained);
  if (constrained !== undefined) caps.push(Math.floor(constrained / 4));
  return Math.min(...caps);
}

/**
 * `--heap-growing-percent` for a headroom over a live old generation: at least MIN_PERCENT, and never so
 * much that the heap could pass half of the process's memory limit; 0 (V8's own rule) when both cannot hold.
 */
export function growingPercent(headroom: number, live: number, constrained?: number): number {
  if (headroom <= 0 || live <= 0) return 0;
  let percent = Math.max(MIN_PERCENT, Math.floor((headroom / live) * 100));
  const limit = memoryLimit(constrained);
  if (limit !== undefined) percent = Math.min(percent, Math.floor(((limit / 2 - live) / live) * 100));
  return percent < MIN_PERCENT ? 0 : percent;
}

/** A cgroup memory limit, or undefined when there is none (Node reports none as 0 or as a huge number). */
function memoryLimit(constrained: number | undefined): number | undefined {
  return constrained !== undefined && constrained > 0 && constrained < Number.MAX_SAFE_INTEGER ? constrained : undefined;
}

/** The headroom in bytes a config value means (`auto`, `off`, or a size). */
export function headroomBytes(value: string | undefined): number {
  if (value === undefined || value === 'auto') {
    return autoHeadroom({ constrained: constrainedMemory?.(), heapLimit: v8.getHeapStatistics().heap_size_limit });
  }
  return value === 'off' ? 0 : parseSize(value);
}

/** Whether the gateway may set the growth here: not on Bun (not V8), not over an operator's own `--heap-growing-percent`. */
function tunable(): boolean {
  return versions.bun === undefined && !execArgv.some((a) => a.startsWith('--heap-growing-percent'));
}

interface Holder { headroom: number }

const holders = new Set<Holder>();
let observer: PerformanceObserver | undefined;
let applied = -1;

/** Bytes in the old generation: read just after a full GC, close to what it left alive. */
function oldGeneration(): number {
  let bytes = 0;
  for (const space of v8.getHeapSpaceStatistics()) if (!space.space_name.startsWith('new_')) bytes += space.space_used_size;
  return bytes;
}

function apply(): void {
  // The newest holder wins: in one process there is one heap (tests may run several gateways in it).
  let headroom = 0;
  for (const h of holders) headroom = h.headroom;
  const percent = growingPercent(headroom, oldGeneration(), constrainedMemory?.());
  if (percent === applied) return;
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
  applied = percent;
}

function onEntries(list: { getEntries(): PerformanceEntry[] }): void {
  for (const entry of list.getEntries()) {
    if ((entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) return apply();
  }
}

/** What a running gateway holds: change the headroom on reload, release it on stop. */
export interface HeapHeadroom {
  /** The percent now set (0: V8's own rule), or undefined when tuning is unavailable here. */
  readonly percent: number | undefined;
  update(headroom: number): void;
  release(): void;
}

/** Keep `headroom` bytes of old-generation growth between full GCs in this process (0: V8's own rule). */
export function holdHeapHeadroom(headroom: number): HeapHeadroom {
  if (!tunable()) return { percent: undefined, update: () => undefined, release: () => undefined };
  const holder: Holder = { headroom };
  holders.add(holder);
  if (!observer) {
    observer = new PerformanceObserver(onEntries);
    observer.observe({ entryTypes: ['gc'] });
  }
  apply();
  return {
    get percent() { return applied; },
    update(next) { holder.headroom = next; if (holders.has(holder)) apply(); },
    release() {
      if (!holders.delete(holder)) return;
      if (holders.size > 0) return apply();
      observer?.disconnect();
      observer = undefined;
      v8.setFlagsFromString('--heap-growing-percent=0');
      applied = -1;
    },
  };
}
