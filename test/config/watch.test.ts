import assert from 'node:assert/strict';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfigText, type LoadedConfig } from '../../src/config/load.js';
import { watchConfig } from '../../src/config/watch.js';
import { tempDir, VALID_YAML } from './fixtures.js';

/** What the reloader watches for a loaded config: the file itself and every ${file:} secret it references. */
const watchLoaded = (loaded: LoadedConfig, onChange: () => void): (() => void) => watchConfig([loaded.file, ...loaded.secretFiles], onChange);

/** Resolves when `onChange` fires; rejects after `ms`. */
function changes(start: (onChange: () => void) => () => void, ms = 5000) {
  let count = 0;
  let resolveNext: (() => void) | undefined;
  const stop = start(() => {
    count += 1;
    resolveNext?.();
  });
  const next = () => new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('onChange was not called')), ms);
    resolveNext = () => { clearTimeout(timer); resolve(); };
  });
  return { next, stop, count: () => count };
}

describe('watchConfig', () => {
  it('fires once when a secret file is replaced by rename', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'secrets'));
    writeFileSync(join(dir, 'secrets', 'aud'), 'api\n');
    const file = join(dir, 'gatehouse.yaml');
    writeFileSync(file, VALID_YAML.replace('audience: api', 'audience: ${file:secrets/aud}'));
    const loaded = loadConfigText(VALID_YAML.replace('audience: api', 'audience: ${file:secrets/aud}'), file, {});
    assert.deepEqual(loaded.secretFiles, [join(dir, 'secrets', 'aud')]);
    const watched = changes((onChange) => watchLoaded(loaded, onChange));
    try {
      const fired = watched.next();
      writeFileSync(join(dir, 'secrets', 'aud.tmp'), 'api-v2\n');
      renameSync(join(dir, 'secrets', 'aud.tmp'), join(dir, 'secrets', 'aud'));
      await fired;
      await sleep(400);
      assert.equal(watched.count(), 1);
    } finally {
      watched.stop();
    }
  });

  it('fires when the config file is rewritten, not when it is rewritten unchanged', async () => {
    const dir = tempDir();
    const file = join(dir, 'gatehouse.yaml');
    writeFileSync(file, VALID_YAML);
    const watched = changes((onChange) => watchLoaded(loadConfigText(VALID_YAML, file, {}), onChange));
    try {
      writeFileSync(file, VALID_YAML);
      await sleep(500);
      assert.equal(watched.count(), 0);
      const fired = watched.next();
      writeFileSync(file, `${VALID_YAML}# edited\n`);
      await fired;
    } finally {
      watched.stop();
    }
  });

  it('follows a Kubernetes-style ..data symlink swap', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, '..v1'));
    writeFileSync(join(dir, '..v1', 'aud'), 'api');
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync(join('..data', 'aud'), join(dir, 'aud'));
    const text = VALID_YAML.replace('audience: api', 'audience: ${file:aud}');
    const file = join(dir, 'gatehouse.yaml');
    writeFileSync(file, text);
    const watched = changes((onChange) => watchLoaded(loadConfigText(text, file, {}), onChange));
    try {
      const fired = watched.next();
      mkdirSync(join(dir, '..v2'));
      writeFileSync(join(dir, '..v2', 'aud'), 'api-v2');
      symlinkSync('..v2', join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      await fired;
    } finally {
      watched.stop();
    }
  });
});
