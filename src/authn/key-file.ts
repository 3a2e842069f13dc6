/**
 * The key file of a provider (API keys, SigV4 access keys), with one rule for every kind: read at
 * start and whenever its content changes; a file that fails to load keeps the keys in effect
 * (none until one load succeeded: the provider is then not ready and its credentials are refused).
 * Every load is published on `gatehouse:keyfile` (never a secret: messages name places, not values).
 */
import { createHash } from 'node:crypto';
import { channel } from 'node:diagnostics_channel';
import { readFile } from 'node:fs/promises';
import { watchFiles } from '../config/watch.js';

/** `{ provider, file, ok, keys?, error?, kept? }` after each load that changed something. */
export const keyFileLoaded = channel('gatehouse:keyfile');

/** The keys in effect and how they got there. */
export interface KeyFile<T> {
  /** undefined until the file has loaded once (then a broken file never takes the keys away). */
  readonly current: T | undefined;
  /** Why the last load failed; undefined after a successful one. */
  readonly lastError: string | undefined;
  /** Read the file now (what the watcher does); resolves to whether its current content is in effect. */
  reload(): Promise<boolean>;
  /** Load once and watch the file's directory for changes. */
  start(): Promise<boolean>;
  close(): void;
}

export interface KeyFileOptions<T> {
  readonly provider: string;
  /** Absolute path. */
  readonly file: string;
  /** Parse the content; throws with a message that never quotes it. */
  readonly parse: (text: string) => T;
  /** How many keys a parsed file holds (for the log). */
  readonly count: (keys: T) => number;
}

function readProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : `cannot read it (${code ?? 'unknown error'})`;
}

/** A key file; nothing is read until start() or reload(). */
export function keyFile<T>(opts: KeyFileOptions<T>): KeyFile<T> {
  const { provider, file } = opts;
  let current: T | undefined;
  let lastError: string | undefined;
  let lastContent: string | undefined;
  let stopWatch: (() => void) | undefined;
  let closed = false;
  let loading: Promise<boolean> = Promise.resolve(false);

  const report = (ok: boolean, detail: { keys?: number; error?: string }): void => {
    if (keyFileLoaded.hasSubscribers) keyFileLoaded.publish({ provider, file, ok, ...detail, ...(ok ? {} : { kept: current !== undefined }) });
  };

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
        current = opts.parse(text);
        lastError = undefined;
        report(true, { keys: opts.count(current) });
        return true;
      } catch (err) {
        problem = err instanceof Error ? err.message : 'invalid';
      }
    }
    lastError = problem;
    report(false, { error: problem! });
    return false;
  };

  const reload = (): Promise<boolean> => {
    loading = loading.then(() => (closed ? false : load()));
    return loading;
  };

  return {
    get current() { return current; },
    get lastError() { return lastError; },
    reload,
    start() {
      if (!stopWatch && !closed) stopWatch = watchFiles([file], () => { void reload(); });
      return reload();
    },
    close() {
      closed = true;
      stopWatch?.();
      stopWatch = undefined;
    },
  };
}
