/**
 * What a reload can and cannot change in a running gateway. Live: routes, providers, limits, log
 * level, the listener's certificate, key and client CAs (`setSecureContext`), the assertion signing
 * key and issuer. Fixed at start: the settings below, which a reload names in one warning. One
 * module for a single process (run.ts) and a cluster primary (cluster.ts).
 */
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { workerCount } from '../config/semantic.js';
import { clientAuthMode, sameTlsMaterial, tlsMaterial } from './listen.js';

/** Settings given on the command line (`--port`, `--admin-port`): the file's value is not in effect anyway. */
export interface Overrides {
  readonly port?: boolean;
  readonly adminPort?: boolean;
}

/** Settings read when the listeners, the audit sink and the workers are made. */
const AT_START: readonly (readonly [name: string, read: (c: Config) => unknown, override?: keyof Overrides])[] = [
  ['listen.host', (c) => c.listen?.host],
  ['listen.port', (c) => c.listen?.port, 'port'],
  ['listen.maxHeaderSize', (c) => c.listen?.maxHeaderSize],
  ['listen.headersTimeout', (c) => c.listen?.headersTimeout],
  ['listen.requestTimeout', (c) => c.listen?.requestTimeout],
  ['listen.idleTimeout', (c) => c.listen?.idleTimeout],
  ['listen.http2', (c) => c.listen?.http2],
  ['admin.host', (c) => c.admin?.host],
  ['admin.port', (c) => c.admin?.port, 'adminPort'],
  ['admin.dashboard', (c) => c.admin?.dashboard],
  ['workers', (c) => workerCount(c)],
  ['audit.sink', (c) => c.audit?.sink],
  ['audit.path', (c) => c.audit?.path],
  ['audit.query', (c) => c.audit?.query],
  ['audit.redactQuery', (c) => c.audit?.redactQuery],
];

/**
 * The settings in which `next` differs from `started` (the config the process started with) that
 * take effect only at the next start: the plain ones above, `listen.tls` when it would switch
 * HTTP ↔ HTTPS, `listen.tls.clientAuth` when the client-certificate mode (requested or not,
 * required or not) would change: node fixes both when the server is made.
 */
export function restartSettings(started: Config, next: Config, overrides: Overrides = {}): string[] {
  const names = AT_START
    .filter(([, read, override]) => !(override && overrides[override]) && !isDeepStrictEqual(read(started), read(next)))
    .map(([name]) => name);
  const [was, now] = [started.listen?.tls, next.listen?.tls];
  if ((was === undefined) !== (now === undefined)) names.push('listen.tls');
  else if (clientAuthMode(was) !== clientAuthMode(now)) names.push('listen.tls.clientAuth');
  return names;
}

/** Warn once about every setting of `next` that waits for the next start; the names warned about. */
export function warnRestartSettings(log: Logger, started: Config, next: Config, overrides: Overrides = {}): string[] {
  const names = restartSettings(started, next, overrides);
  if (names.length > 0) log.warn({ restart: names }, `${names.join(', ')} changed: ${names.length === 1 ? 'takes' : 'take'} effect at the next start`);
  return names;
}

/** Whether reloading from `prev` to `next` gives the listener (started with `started`) a new certificate, key or client CAs. */
export function tlsRotates(started: Config, prev: Config, next: Config): boolean {
  const [first, before, after] = [started.listen?.tls, prev.listen?.tls, next.listen?.tls];
  if (!first || !before || !after) return false;
  return !sameTlsMaterial(tlsMaterial(first, before), tlsMaterial(first, after));
}
