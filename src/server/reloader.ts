/**
 * The one reload path, for a single process and for a cluster primary alike: reloads run one at a
 * time; the config is loaded and validated, then applied; a failure keeps the previous config; the
 * watch follows the new set of `${file:}` secrets, and the poll the new set of remote secrets.
 */
import type { Logger } from 'pino';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { watchConfig } from '../config/watch.js';
import { pollRemoteSecrets } from '../config/secrets/poll.js';

export interface Reloader {
  /** The config in effect. */
  readonly loaded: LoadedConfig;
  /**
   * Reload now (SIGHUP, a file change, a changed remote secret, a primary's request); resolves to
   * whether the new config is in effect. `secrets`: values of remote references already read.
   */
  reload(secrets?: ReadonlyMap<string, string>): Promise<boolean>;
  stop(): void;
}

/**
 * Reload `initial`'s file with `apply` (which swaps in the new config and resolves to whether it
 * did); `watch` also reloads on every change to the config file or its secret files, and polls its
 * remote secrets.
 */
export function createReloader(initial: LoadedConfig, log: Logger, apply: (next: LoadedConfig) => Promise<boolean>, opts: { watch: boolean }): Reloader {
  let loaded = initial;
  let chain = Promise.resolve(true);
  let stopWatch = (): void => {};
  const watch = (): void => {
    stopWatch();
    if (!opts.watch) return;
    const stopFiles = watchConfig([loaded.file, ...loaded.secretFiles], () => { void reload(); });
    const stopPoll = pollRemoteSecrets(loaded, log, (values) => { void reload(values); });
    stopWatch = () => { stopFiles(); stopPoll(); };
  };
  const reload = (secrets?: ReadonlyMap<string, string>): Promise<boolean> => {
    chain = chain.then(async () => {
      try {
        const next = await loadConfig(loaded.file, process.env, secrets ? { secrets } : {});
        if (!(await apply(next))) return false;
        loaded = next;
        watch();
        return true;
      } catch (err) {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'configuration reload failed; still serving the previous configuration');
        return false;
      }
    });
    return chain;
  };
  watch();
  return {
    get loaded() { return loaded; },
    reload,
    stop: () => stopWatch(),
  };
}
