import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Dispatcher } from 'undici';
import { Target, TargetSet, type TargetPolicy } from '../../src/upstream/http/target-set.js';
import { RetryBudget } from '../../src/upstream/http/retry-budget.js';

const POLICY: TargetPolicy = { consecutiveFailures: 3, ejectionMs: 1000, maxEjectionMs: 2500, maxEjected: 1, breakerFailures: 100, breakerWindowMs: 10_000, cooldownMs: 500 };
const targets = (n: number): Target[] => Array.from({ length: n }, (_, i) => new Target(`http://t${i}`, {} as Dispatcher));
const labels = (set: TargetSet, n: number, now = 1): string[] => Array.from({ length: n }, () => set.pick(undefined, now)?.label ?? '-');

describe('TargetSet', () => {
  it('round-robin skips the tried, the down and the ejected; undefined when none is left', () => {
    const [a, b, c] = targets(3) as [Target, Target, Target];
    const set = new TargetSet([a, b, c], 'round-robin', POLICY);
    assert.deepEqual(labels(set, 4), ['http://t0', 'http://t1', 'http://t2', 'http://t0']);
    b.up = false;
    assert.deepEqual(labels(set, 4), ['http://t2', 'http://t0', 'http://t2', 'http://t0']);
    assert.equal(set.pick([a, c], 1), undefined);
  });

  it('least-request takes the fewest in flight', () => {
    const [a, b] = targets(2) as [Target, Target];
    const set = new TargetSet([a, b], 'least-request', POLICY);
    a.inFlight = 2;
    assert.deepEqual(labels(set, 3), ['http://t1', 'http://t1', 'http://t1']);
    b.inFlight = 5;
    assert.equal(set.pick(undefined, 1), a);
  });

  it('ejects after consecutive failures for a growing, capped period, at most maxEjected at once', () => {
    const [a, b] = targets(2) as [Target, Target];
    const set = new TargetSet([a, b], 'round-robin', POLICY);
    set.failed(a, 0); set.failed(a, 0); set.succeeded(a); set.failed(a, 0); set.failed(a, 0);
    assert.equal(a.ejectedUntil, 0, 'a success resets the run');
    set.failed(a, 0);
    assert.equal(a.ejectedUntil, 1000);
    for (let i = 0; i < 5; i++) set.failed(b, 10);
    assert.equal(b.ejectedUntil, 0, 'the second of two is never ejected while the first is');
    for (let i = 0; i < 3; i++) set.failed(a, 2000);
    assert.equal(a.ejectedUntil, 4000, 'the second ejection lasts twice as long');
    for (let i = 0; i < 3; i++) set.failed(a, 5000);
    assert.equal(a.ejectedUntil, 7500, 'capped at maxEjection');
  });

  it('the circuit opens after failures in its window, lets one probe through after the cool-down, and closes on success', () => {
    const [a] = targets(1) as [Target];
    const set = new TargetSet([a], 'round-robin', { ...POLICY, consecutiveFailures: 1000, maxEjected: 0, breakerFailures: 2, breakerWindowMs: 100 });
    set.failed(a, 0);
    set.failed(a, 200);
    assert.equal(a.breaker, 'closed', 'the first failure left the window');
    set.failed(a, 250);
    assert.equal(a.breaker, 'open');
    assert.equal(set.pick(undefined, 300), undefined);
    assert.equal(set.pick(undefined, 750), a, 'the probe');
    assert.equal(a.breaker, 'half-open');
    assert.equal(set.pick(undefined, 751), undefined, 'one probe at a time');
    set.failed(a, 760);
    assert.equal(a.breaker, 'open');
    assert.equal(set.pick(undefined, 1000), undefined);
    assert.equal(set.pick(undefined, 1260), a);
    set.succeeded(a);
    assert.equal(a.breaker, 'closed');
    assert.equal(set.pick(undefined, 1261), a);
  });

  it('views each target as pick would treat it: down before ejected before the circuit; ejections end at a wall time', () => {
    const [a, b, c, d] = targets(4) as [Target, Target, Target, Target];
    const set = new TargetSet([a, b, c, d], 'round-robin', { ...POLICY, maxEjected: 2, breakerFailures: 2 });
    const state = (now: number): string[] => set.view(now, 1_000_000 + now).map((t) => t.state);
    assert.deepEqual(state(0), ['up', 'up', 'up', 'up']);
    a.up = false;
    for (let i = 0; i < 3; i++) set.failed(a, 0);
    for (let i = 0; i < 3; i++) set.failed(b, 0);
    set.failed(c, 0); set.failed(c, 0);
    assert.deepEqual(state(10), ['down', 'ejected', 'circuit_open', 'up']);
    assert.equal(set.view(10, 5000)[1]!.ejectedUntil, new Date(5000 + 990).toISOString());
    assert.equal(set.view(10, 5000)[0]!.ejectedUntil, new Date(5000 + 990).toISOString(), 'a down target may be ejected as well');
    // Past the cooldown the circuit lets one probe through; taking it makes it half-open and in use.
    assert.deepEqual(state(600).slice(2), ['half_open', 'up']);
    assert.equal(set.pick([a, b, d], 600), c);
    c.inFlight++;
    assert.deepEqual(set.view(600, 0).map((t) => [t.state, t.inFlight]).slice(2), [['half_open', 1], ['up', 0]]);
    // The ejection is over; the circuit the same failures opened has cooled down and waits for a probe.
    assert.deepEqual(state(1100).slice(0, 2), ['down', 'half_open']);
    set.succeeded(b);
    assert.equal(state(1100)[1], 'up');
  });
});

describe('RetryBudget', () => {
  it('allows minPerSecond × 10 retries in the window plus the share of requests, then refuses until the window moves', () => {
    const budget = new RetryBudget(0.2, 1);
    for (let i = 0; i < 100; i++) budget.request(5000);
    let allowed = 0;
    while (budget.tryRetry(5000)) allowed++;
    assert.equal(allowed, 10 + 20);
    assert.equal(budget.tryRetry(9000), false, 'still within the 10 s window');
    assert.equal(budget.tryRetry(16_000), true, 'the window moved on');
  });

  it('a zero budget without a minimum never retries', () => {
    const budget = new RetryBudget(0, 0);
    budget.request(1);
    assert.equal(budget.tryRetry(1), false);
  });
});
