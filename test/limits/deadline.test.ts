import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Deadline } from '../../src/limits/deadline.js';

// The sweep's timer does not hold the process open (in the gateway the sockets do): this does.
const keepOpen = setInterval(() => {}, 1000);
after(() => clearInterval(keepOpen));

/** A deadline whose expiry and hold are observable from the test. */
class Probe extends Deadline {
  fired = 0;
  hold = false;
  readonly #onFire: (() => void) | undefined;
  constructor(onFire?: () => void) {
    super();
    this.#onFire = onFire;
  }
  start(ms: number): void { this.arm(ms); }
  touch(): void { this.rearm(); }
  stop(): void { this.disarm(); }
  get listed(): boolean { return this.armed; }
  protected override held(): boolean { return this.hold; }
  protected override expired(): void {
    this.fired++;
    this.#onFire?.();
  }
}

test('a deadline fires once, disarmed; one disarmed in time never fires', async () => {
  let done!: () => void;
  const fired = new Promise<void>((r) => (done = r));
  const a = new Probe(done);
  const b = new Probe();
  a.start(100);
  b.start(100);
  b.stop();
  assert.equal(b.listed, false);
  await fired;
  assert.equal(a.fired, 1);
  assert.equal(a.listed, false);
  await sleep(3 * Deadline.TICK_MS);
  assert.equal(a.fired, 1);
  assert.equal(b.fired, 0);
});

test('it never fires before its time: armed for two ticks, it is still armed one tick later', async () => {
  const p = new Probe();
  p.start(2 * Deadline.TICK_MS);
  await sleep(Deadline.TICK_MS);
  assert.equal(p.fired, 0);
  assert.equal(p.listed, true);
  p.stop();
});

test('while held it does not fire; released, it fires; 0 disarms', async () => {
  let done!: () => void;
  const fired = new Promise<void>((r) => (done = r));
  const p = new Probe(done);
  p.hold = true;
  p.start(1);
  await sleep(4 * Deadline.TICK_MS);
  assert.equal(p.fired, 0);
  p.hold = false;
  await fired;
  assert.equal(p.fired, 1);
  const q = new Probe();
  q.start(1000);
  q.start(0);
  assert.equal(q.listed, false);
});

test('rearm keeps it alive while there is activity', async () => {
  const p = new Probe();
  p.start(2 * Deadline.TICK_MS);
  for (let i = 0; i < 6; i++) {
    await sleep(Deadline.TICK_MS / 2);
    p.touch();
  }
  assert.equal(p.fired, 0);
  p.stop();
});

test('many deadlines in flight: each expires or is disarmed independently', async () => {
  const probes = Array.from({ length: 100 }, () => new Probe());
  probes.forEach((p, i) => p.start(i % 2 === 0 ? 1 : 60_000));
  for (let i = 1; i < probes.length; i += 4) probes[i]!.stop();
  await sleep(4 * Deadline.TICK_MS);
  probes.forEach((p, i) => assert.equal(p.fired, i % 2 === 0 ? 1 : 0, `probe ${i}`));
  for (const p of probes) p.stop();
});

test('an expiry handler that disarms or re-arms other due deadlines: they are not told, and the rest of the list still is', async () => {
  let done!: () => void;
  const swept = new Promise<void>((r) => (done = r));
  const others: Probe[] = [];
  const rearmed = new Probe();
  const disarmed = new Probe();
  // Armed last, so first in the list: its handler runs while the others are still to be told.
  const later = Array.from({ length: 5 }, () => new Probe());
  for (const p of later) p.start(100);
  rearmed.start(100);
  disarmed.start(100);
  const first = new Probe(() => {
    disarmed.stop();
    rearmed.start(60_000);
    others.push(...later);
    done();
  });
  first.start(100);
  await swept;
  await sleep(Deadline.TICK_MS / 5);
  assert.equal(first.fired, 1);
  assert.equal(disarmed.fired, 0, 'disarmed by a handler in the same sweep: not told');
  assert.equal(rearmed.fired, 0, 're-armed by a handler in the same sweep: it has new time');
  assert.equal(rearmed.listed, true);
  assert.deepEqual(others.map((p) => p.fired), [1, 1, 1, 1, 1], 'the rest of the list expired in the same sweep');
  rearmed.stop();
});
