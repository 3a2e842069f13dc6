/**
 * Operational events to the log: dependency outages and recoveries, key files that failed to load,
 * introspection endpoints that could not decide. The parts publish; only this module logs them.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Logger } from 'pino';

interface StoreEvent { store: string; state: 'up' | 'down'; first: boolean; error?: string; fail: string }
interface KeyFileEvent { provider: string; file?: string; ok: boolean; keys?: number; error?: string; kept?: boolean }
interface BrokerEvent { broker: string; state: 'up' | 'down'; error?: string }
interface IntrospectionEvent { provider: string; reason: string }

/** Subscribe `log` to the operational channels; returns the unsubscribe function. */
export function logOperationalEvents(log: Logger): () => void {
  const handlers: Record<string, (message: unknown) => void> = {
    'gatehouse:limits:store': (m) => {
      const e = m as StoreEvent;
      if (e.state === 'down') log.warn({ store: e.store, error: e.error, fail: e.fail }, 'rate-limit store unavailable');
      else log.info({ store: e.store }, e.first ? 'rate-limit store connected' : 'rate-limit store available again');
    },
    'gatehouse:keyfile': (m) => {
      const e = m as KeyFileEvent;
      if (e.ok) log.info({ provider: e.provider, file: e.file, keys: e.keys }, 'key file loaded');
      else log.warn({ provider: e.provider, file: e.file, error: e.error }, e.kept ? 'key file not loaded; keeping the previous keys' : 'key file not loaded; its keys are refused');
    },
    'gatehouse:broker:connection': (m) => {
      const e = m as BrokerEvent;
      if (e.state === 'down') log.warn({ broker: e.broker, error: e.error }, 'message broker unavailable');
      else log.info({ broker: e.broker }, 'message broker connected');
    },
    'gatehouse:authn:introspection-failed': (m) => {
      const e = m as IntrospectionEvent;
      log.warn({ provider: e.provider, reason: e.reason }, 'token introspection could not decide');
    },
  };
  for (const [name, fn] of Object.entries(handlers)) subscribe(name, fn);
  return () => { for (const [name, fn] of Object.entries(handlers)) unsubscribe(name, fn); };
}
