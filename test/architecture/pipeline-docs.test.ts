// docs/guide.md draws the stage list that the code declares (src/pipeline/stage.ts); they may not drift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PIPELINE } from '../../src/pipeline/stage.js';

test('the guide draws the pipeline exactly as PIPELINE declares it', () => {
  const guide = readFileSync('docs/guide.md', 'utf8');
  const block = /<!-- pipeline:[^>]*-->\s*```\n([^\n]+)\n```/.exec(guide);
  assert.ok(block, 'docs/guide.md has the marked pipeline block');
  const drawn = block[1]!.split('─▶').map((s) => s.trim());
  assert.deepEqual(drawn, ['listener', ...PIPELINE]);
  // Every stage has a row in the table that follows.
  for (const stage of ['listener', ...PIPELINE]) assert.match(guide, new RegExp(`^\\| ${stage} \\|`, 'm'), `a table row for ${stage}`);
});
