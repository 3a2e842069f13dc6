import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

const DEBOUNCE_MS = 200;

/** Watch the config file and every ${file:} secret file; see watchFiles. */
export function watchConfig(files: readonly string[], onChange: () => void): () => void {
  return watchFiles(files, onChange);
}

/**
 * Call onChange (debounced ~200 ms) when the content of any of `files` changes. Returns a stop
 * function. Watches the directories, so files replaced by rename (editors, Kubernetes secret
 * mounts) still trigger; rewrites with identical content do not. Used for configs and key files.
 */
export function watchFiles(paths: readonly string[], onChange: () => void): () => void {
  const files = [...new Set(paths)];
  // Kubernetes swaps a `..data` symlink instead of touching the names we know; so events for our
  // names or for `..*` entries lead to a content comparison (which also skips no-op rewrites).
  const names = new Set(files.map((f) => basename(f)));
  let last = fingerprint(files);
  let timer: NodeJS.Timeout | undefined;
  const check = (): void => {
    timer = undefined;
    const now = fingerprint(files);
    if (now === last) return;
    last = now;
    onChange();
  };
  const schedule = (_event: string, name: string | Buffer | null): void => {
    const entry = name?.toString();
    if (entry !== undefined && !names.has(entry) && !entry.startsWith('..')) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(check, DEBOUNCE_MS);
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set(files.map((f) => dirname(f)))) {
    try {
      const watcher = watch(dir, schedule);
      watcher.on('error', () => watcher.close());
      watchers.push(watcher);
    } catch {
      // A directory that does not exist (yet) cannot be watched; its file reads as missing.
    }
  }
  return () => {
    if (timer) clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
}

/** One hash over every file's content (a missing file counts as a distinct state). */
function fingerprint(files: readonly string[]): string {
  const hash = createHash('sha256');
  for (const file of files) {
    try {
      hash.update(`${file}\0`).update(createHash('sha256').update(readFileSync(file)).digest());
    } catch {
      hash.update(`${file}\0missing`);
    }
  }
  return hash.digest('hex');
}
