// The runtime guard: Node serves; Bun is refused (fail closed) unless GATEHOUSE_ALLOW_BUN=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineRefusal } from '../../src/server/engine.js';

test('Node is served; Bun is refused with the reason and the opt-in, and served when opted in', () => {
  assert.equal(engineRefusal(process.versions, {}), undefined);
  const bun = { ...process.versions, bun: '1.4.5' };
  assert.match(engineRefusal(bun, {}) ?? '', /not supported on Bun 1\.4\.5.*GATEHOUSE_ALLOW_BUN=1/);
  assert.match(engineRefusal(bun, { GATEHOUSE_ALLOW_BUN: 'yes' }) ?? '', /not supported/);
  assert.equal(engineRefusal(bun, { GATEHOUSE_ALLOW_BUN: '1' }), undefined);
});
