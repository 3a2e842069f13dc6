/**
 * Polling remote secrets: every `secrets.pollInterval`, each remote reference of the config in effect
 * is read again. A changed value calls `onChange` with the values to load (the new ones, and the last
 * good value of any that could not be read), which reloads the configuration as a changed `${file:}`
 * does. A failed read is logged (the reference and why, never a value) and changes nothing.
 */
import type { Logger } from 'pino';
import type { Config } from '../schema.js';
import { parseDuration } from '../units.js';
import { DEFAULT_POLL_INTERVAL } from './registry.js';
import { readRemote } from './remote.js';

export function pollRemoteSecrets(
  current: { readonly config: Config; readonly remoteSecrets: ReadonlyMap<string, string> },
  log: Logger,
  onChange: (values: ReadonlyMap<string, string>) => void,
  env: NodeJS.ProcessEnv = process.env,
): () => void {
  const refs = [...current.remoteSecrets.keys()];
  const every = parseDuration(current.config.secrets?.pollInterval ?? DEFAULT_POLL_INTERVAL);
  if (refs.length === 0 || every === 0) return () => {};
  let busy = false;
  let stopped = false;
  const poll = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      const read = await readRemote(refs, { valid: true, value: current.config.secrets }, env);
      if (stopped) return;
      const values = new Map(current.remoteSecrets);
      const changed: string[] = [];
      for (const ref of refs) {
        const result = read.get(ref);
        if (result === undefined || 'error' in result) {
          log.warn({ reference: ref, error: result?.error ?? 'not read' }, 'remote secret could not be read; keeping its last good value');
        } else if (result.value !== current.remoteSecrets.get(ref)) {
          values.set(ref, result.value);
          changed.push(ref);
        }
      }
      if (changed.length > 0) {
        log.info({ references: changed }, 'remote secret changed; reloading the configuration');
        onChange(values);
      }
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => { void poll(); }, every);
  timer.unref();
  return () => { stopped = true; clearInterval(timer); };
}
