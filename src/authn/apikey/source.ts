/** The key file of one API key provider, loaded at start and re-read whenever it changes. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { watchFiles } from '../../config/watch.js';
import { parseKeyFile, type KeyEntry } from './file.js';

/** Where a provider reports state changes (key file loaded or broken): once per change, never secrets. */
export interface ProviderLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** The keys in effect and how they got there. */
export interface KeySource {
  /** undefined until a key file has loaded once (then a broken file never takes the keys away). */
  readonly keys: ReadonlyMap<string, KeyEntry> | undefined;
  /** Why the last load failed; undefined after a successful one. */
  readonly lastError: string | undefined;
  /** Read the file now (what the watcher does); resolves to whether its current content is in effect. */
  reload(): Promise<boolean>;
  /** Start watching the file's directory. */
  watch(): void;
  close(): void;
}


function readProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : `cannot read it (${code ?? 'unknown error'})`;
}

/** Keys of provider `provider` from `file` (absolute). Nothing is read until reload() or watch(). */
export function createKeySource(file: string, provider: string, log: ProviderLog | undefined): KeySource {
  let keys: ReadonlyMap<string, KeyEntry> | undefined;
  let lastError: string | undefined;
  let lastContent: string | undefined;
  let stopWatch: (() => void) | undefined;
  let closed = false;
  let loading: Promise<boolean> = Promise.resolve(false);

  const load = async (): Promise<boolean> => {
    let text: string | undefined;
    let problem: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      problem = readProblem(err);
    }
    // Unchanged content (or the same failure) was already applied and reported once.
    const fingerprint = text === undefined ? `unreadable: ${problem}` : createHash('sha256').update(text).digest('hex');
    if (fingerprint === lastContent) return lastError === undefined;
    lastContent = fingerprint;
    if (text !== undefined) {
      try {
        keys = parseKeyFile(text, provider);
        lastError = undefined;
        log?.info({ provider, file, keys: keys.size }, 'API key file loaded');
        return true;
      } catch (err) {
        problem = err instanceof Error ? err.message : 'invalid';
      }
    }
    lastError = problem;
    log?.warn({ provider, file, error: problem }, keys ? 'API key file not loaded; keeping the previous keys' : 'API key file not loaded; API keys are refused');
    return false;
  };

  const reload = (): Promise<boolean> => {
    loading = loading.then(() => (closed ? false : load()));
    return loading;
  };

  return {
    get keys() { return keys; },
    get lastError() { return lastError; },
    reload,
    watch() {
      if (stopWatch || closed) return;
      stopWatch = watchFiles([file], () => { void reload(); });
    },
    close() {
      closed = true;
      stopWatch?.();
      stopWatch = undefined;
    },
  };
}
