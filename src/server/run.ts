import type { Logger } from 'pino';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { watchConfig } from '../config/watch.js';
import { parseDuration } from '../config/units.js';
import { compileRuntime, type Runtime } from '../compile.js';
import { createGateway, type RuntimeRef } from '../gateway.js';
import { startListener, type Listener } from './listen.js';
import { startAdmin, type AdminServer } from '../admin/server.js';
import { startAuditSink, type AuditSink } from '../audit/sink.js';
import { startMetrics } from '../observe/metrics.js';

/** A running gateway process: public listener, admin listener, audit sink, config watcher. */
export interface RunningGateway {
  readonly port: number;
  readonly adminPort: number;
  readonly ref: RuntimeRef;
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

function logWarnings(loaded: LoadedConfig, runtime: Runtime, log: Logger): void {
  if (loaded.config.dev) process.stderr.write(DEV_WARNING + '\n');
  for (const w of loaded.warnings) log.warn({ file: loaded.file }, w);
  for (const w of runtime.warnings) log.warn({ file: loaded.file, route: w.route, other: w.other }, w.message);
}

/** Load, compile and serve a config file until stop(). */
export async function runGateway(configFile: string, log: Logger, overrides: { port?: number; adminPort?: number } = {}): Promise<RunningGateway> {
  let loaded = await loadConfig(configFile);
  const listenCfg = { ...loaded.config.listen!, ...(overrides.port !== undefined ? { port: overrides.port } : {}) };
  const adminCfg = { ...loaded.config.admin!, ...(overrides.adminPort !== undefined ? { port: overrides.adminPort } : {}) };
  const runtime = await compileRuntime(loaded.config, { baseDir: loaded.baseDir, log });
  logWarnings(loaded, runtime, log);
  const ref: RuntimeRef = { current: runtime };
  const audit: AuditSink = startAuditSink(loaded.config.audit!);
  const metrics = startMetrics();
  const started = runtime.start();
  const listener: Listener = await startListener(listenCfg, createGateway(ref, (err) => log.error({ err }, 'request failed')));
  const admin: AdminServer = await startAdmin(adminCfg.host, adminCfg.port, ref, metrics);
  await started;
  log.info({ port: listener.port, admin: admin.port, routes: runtime.routes.length, ready: runtime.readiness() }, 'gatehouse listening');

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
  let stopWatch = watchConfig(loaded, () => { void reload(); });
  const restartWatch = (): void => { stopWatch(); stopWatch = watchConfig(loaded, () => { void reload(); }); };

  return {
    port: listener.port,
    adminPort: admin.port,
    ref,
    reload,
    async stop() {
      stopWatch();
      admin.setDraining();
      const result = await listener.drain(parseDuration(loaded.config.listen!.shutdownGrace));
      await ref.current.close();
      await admin.close();
      await audit.close();
      metrics.close();
      return result;
    },
  };
}
