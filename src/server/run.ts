import type { Logger } from 'pino';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { watchConfig } from '../config/watch.js';
import { parseDuration } from '../config/units.js';
import { compileRuntime, type Runtime } from '../compile.js';
import { createGateway, type RuntimeRef } from '../gateway.js';
import { startListener, type Listener } from './listen.js';
import { runtimeAdminSource, startAdmin, type AdminServer } from '../admin/server.js';
import { startAuditSink, type AuditSink } from '../audit/sink.js';
import { startMetrics, type Metrics } from '../observe/metrics.js';
import type { AssertionSigner } from '../outbound/assertion.js';

/** A running gateway process: public listener, admin listener, audit sink, config watcher. */
export interface RunningGateway {
  readonly port: number;
  /** Undefined in a cluster worker, which binds no admin listener. */
  readonly adminPort: number | undefined;
  readonly ref: RuntimeRef;
  /** This process's metrics registry (a cluster worker reports it to the primary). */
  readonly metrics: Metrics;
  /** Every provider has keys and the gateway is not draining. */
  readiness(): { ready: boolean; draining: boolean; providers: Record<string, boolean> };
  /** Re-read the config and secret files; on error keep serving the old config. */
  reload(): Promise<boolean>;
  /** Graceful stop: readiness goes 503, no new connections, in-flight requests finish up to the grace period. */
  stop(): Promise<{ forced: number }>;
}

const DEV_WARNING = [
  '',
  '################################################################################',
  '#  DEVELOPMENT ISSUER ENABLED (dev: true)                                      #',
  '#  Anyone with the dev key file can mint tokens this gateway accepts.          #',
  '#  Never run this configuration in production.                                 #',
  '################################################################################',
  '',
].join('\n');

/** Print config and route warnings (and the dev-issuer banner); once per start. */
export function logWarnings(loaded: LoadedConfig, runtime: Pick<Runtime, 'warnings'>, log: Logger): void {
  if (loaded.config.dev) process.stderr.write(DEV_WARNING + '\n');
  for (const w of loaded.warnings) log.warn({ file: loaded.file }, w);
  for (const w of runtime.warnings) log.warn({ file: loaded.file, route: w.route, other: w.other }, w.message);
}

export interface RunOptions {
  port?: number;
  adminPort?: number;
  /** The config file already loaded by the caller (read once, not twice). */
  loaded?: LoadedConfig;
  /**
   * Run as one of several cluster workers: no admin listener, no config-file watch and no start-up
   * warnings (the primary does those once, and tells the worker when to reload).
   */
  worker?: boolean;
  /** Sign identity assertions with this signer (cluster workers share the primary's key). */
  signer?: AssertionSigner;
}

/** Load, compile and serve a config file until stop(). */
export async function runGateway(configFile: string, log: Logger, options: RunOptions = {}): Promise<RunningGateway> {
  let loaded = options.loaded ?? await loadConfig(configFile);
  const worker = options.worker === true;
  const listenCfg = { ...loaded.config.listen!, ...(options.port !== undefined ? { port: options.port } : {}) };
  const adminCfg = { ...loaded.config.admin!, ...(options.adminPort !== undefined ? { port: options.adminPort } : {}) };
  const runtime = await compileRuntime(loaded.config, { baseDir: loaded.baseDir, log, ...(options.signer ? { signer: options.signer } : {}) });
  if (!worker) logWarnings(loaded, runtime, log);
  const ref: RuntimeRef = { current: runtime };
  const audit: AuditSink = startAuditSink(loaded.config.audit!);
  const metrics = startMetrics();
  let draining = false;
  const started = runtime.start();
  const listener: Listener = await startListener(listenCfg, createGateway(ref, (err) => log.error({ err }, 'request failed')));
  const admin: AdminServer | undefined = worker ? undefined : await startAdmin(adminCfg.host, adminCfg.port, runtimeAdminSource(ref, metrics));
  await started;
  log.info({ port: listener.port, admin: admin?.port, routes: runtime.routes.length, ready: runtime.readiness() }, 'gatehouse listening');

  let reloading = Promise.resolve(true);
  const reload = (): Promise<boolean> => {
    reloading = reloading.then(async () => {
      try {
        const next = await loadConfig(configFile);
        const nextRuntime = await compileRuntime(next.config, { baseDir: next.baseDir, signer: ref.current.signer, log });
        await nextRuntime.start();
        const old = ref.current;
        ref.current = nextRuntime;
        loaded = next;
        restartWatch();
        log.info({ routes: nextRuntime.routes.length, ready: nextRuntime.readiness() }, 'configuration reloaded');
        // In-flight requests on the old runtime keep their pools until the grace period ends.
        setTimeout(() => { void old.close(); }, parseDuration(next.config.listen!.shutdownGrace)).unref();
        return true;
      } catch (err) {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'configuration reload failed; still serving the previous configuration');
        return false;
      }
    });
    return reloading;
  };
  const watch = (): (() => void) => (worker ? () => {} : watchConfig(loaded, () => { void reload(); }));
  let stopWatch = watch();
  const restartWatch = (): void => { stopWatch(); stopWatch = watch(); };

  return {
    port: listener.port,
    adminPort: admin?.port,
    ref,
    metrics,
    readiness() {
      const r = ref.current.readiness();
      return { ready: r.ready && !draining, draining, providers: r.providers };
    },
    reload,
    async stop() {
      stopWatch();
      draining = true;
      admin?.setDraining();
      const result = await listener.drain(parseDuration(loaded.config.listen!.shutdownGrace));
      await ref.current.close();
      await admin?.close();
      await audit.close();
      metrics.close();
      return result;
    },
  };
}
