import type { Logger } from 'pino';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { createReloader } from './reloader.js';
import { logOperationalEvents } from '../observe/log-events.js';
import { parseDuration } from '../config/units.js';
import { compileRuntime, type Runtime } from '../pipeline/runtime.js';
import { createGateway, type RuntimeRef } from '../pipeline/gateway.js';
import { startListener, type Listener } from './listen.js';
import { runtimeAdminSource, startAdmin, type AdminServer } from '../admin/server.js';
import { startAuditSink, type AuditSink } from '../audit/sink.js';
import { CHECKPOINT_TYP } from '../audit/chain.js';
import { startMetrics, type Metrics } from '../observe/metrics.js';
import { startTracing } from '../observe/tracing/tracing.js';
import { createAssertionSigner, type AssertionSigner } from '../outbound/assertion.js';
import { longestAssertionTtlMs, reloadedKey, rotationFields } from './assertion-key.js';
import { warnRestartSettings } from './restart-settings.js';
import { localDashboardSource, startDashboardCollector, type DashboardSource } from '../admin/dashboard/source.js';
import { createDashboardHandler } from '../admin/dashboard/handler.js';
import { headroomBytes, holdHeapHeadroom } from './heap.js';

/** A running gateway process: public listener, admin listener, audit sink, config watcher. */
export interface RunningGateway {
  readonly port: number;
  /** Undefined in a cluster worker, which binds no admin listener. */
  readonly adminPort: number | undefined;
  readonly ref: RuntimeRef;
  /** This process's metrics registry (a cluster worker reports it to the primary). */
  readonly metrics: Metrics;
  /** This process's dashboard data, when `admin.dashboard` is set (a cluster worker reports it to the primary). */
  readonly dashboard: DashboardSource | undefined;
  /** Every provider has keys and the gateway is not draining. */
  readiness(): { ready: boolean; draining: boolean; providers: Record<string, boolean> };
  /** Re-read the config and its secrets (`secrets`: remote values already read); on error keep serving the old config. */
  reload(secrets?: ReadonlyMap<string, string>): Promise<boolean>;
  /** Graceful stop: readiness goes 503, no new connections, in-flight requests finish up to the grace period. */
  stop(): Promise<{ forced: number }>;
  /** Reopen the audit file at its path (after logrotate moved it; SIGUSR2). */
  reopenAudit(): void;
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
  /**
   * Sign identity assertions with this signer, whose key the caller owns: reloads leave it alone (a
   * cluster worker's primary rotates it). Absent: the key is `assertion.privateKey` (or generated),
   * and a reload that changes `assertion.privateKey` or `assertion.issuer` rotates it.
   */
  signer?: AssertionSigner;
  /** Values of remote secret references already read (a cluster worker gets its primary's). */
  secrets?: ReadonlyMap<string, string>;
}

/** The log level a config asks for (GATEHOUSE_LOG_LEVEL, when set, wins: it is how one debugs a config). */
export function applyLogLevel(log: Logger, loaded: LoadedConfig): void {
  log.level = process.env.GATEHOUSE_LOG_LEVEL ?? loaded.config.log!.level;
}

/** Load, compile and serve a config file until stop(). */
export async function runGateway(configFile: string, log: Logger, options: RunOptions = {}): Promise<RunningGateway> {
  const initial = options.loaded ?? await loadConfig(configFile, process.env, options.secrets ? { secrets: options.secrets } : {});
  applyLogLevel(log, initial);
  const worker = options.worker === true;
  const listenCfg = { ...initial.config.listen!, ...(options.port !== undefined ? { port: options.port } : {}) };
  const adminCfg = { ...initial.config.admin!, ...(options.adminPort !== undefined ? { port: options.adminPort } : {}) };
  const stopEvents = logOperationalEvents(log);
  const ownsKey = options.signer === undefined;
  const signer = options.signer ?? await createAssertionSigner({
    issuer: initial.config.assertion?.issuer ?? 'gatehouse',
    ...(initial.config.assertion?.privateKey !== undefined ? { privateKeyPem: initial.config.assertion.privateKey } : {}),
  });
  const runtime = await compileRuntime(initial.config, { baseDir: initial.baseDir, signer });
  if (!worker) logWarnings(initial, runtime, log);
  const ref: RuntimeRef = { current: runtime };
  const auditCfg = initial.config.audit!;
  const audit: AuditSink = startAuditSink(auditCfg, auditCfg.integrity === undefined ? undefined : {
    chainId: worker ? `w${process.env.GATEHOUSE_WORKER_SLOT ?? '0'}` : 'main',
    everyMs: parseDuration(auditCfg.integrity.checkpointEvery),
    sign: (claims) => signer.signStatement(claims, CHECKPOINT_TYP),
  });
  const metrics = startMetrics();
  const heap = holdHeapHeadroom(headroomBytes(initial.config.heap!.headroom));
  const dashboardCfg = initial.config.admin?.dashboard;
  const collector = dashboardCfg ? startDashboardCollector() : undefined;
  const dashboard = collector ? localDashboardSource(ref, collector) : undefined;
  let draining = false;
  // Before runtime.start(): nothing may await between starting it and the try below that awaits it.
  const tracing = await startTracing(initial.config.tracing, process.env, (message) => log.warn(message));
  const started = runtime.start();
  let listener: Listener | undefined;
  let admin: AdminServer | undefined;
  /** Close everything but the public listener (drained first by the caller), in dependency order. */
  const release = async (current: { close(): Promise<void> }): Promise<void> => {
    await current.close();
    await admin?.close();
    await audit.close();
    metrics.close();
    collector?.close();
    await tracing?.shutdown();
    heap.release();
    stopEvents();
  };
  try {
    listener = await startListener(listenCfg, createGateway(ref, (err) => log.error({ err }, 'request failed'), tracing));
    admin = worker ? undefined : await startAdmin(adminCfg.host, adminCfg.port, runtimeAdminSource(ref, metrics),
      dashboardCfg && dashboard ? createDashboardHandler({ config: dashboardCfg, providers: initial.config.providers, source: dashboard, log }) : undefined);
    await started;
  } catch (err) {
    // A port in use (or a provider that cannot start): release what did start, so an embedding process is left clean.
    await listener?.drain(0);
    await started.catch(() => undefined);
    await release(runtime);
    throw err;
  }
  log.info({ port: listener.port, admin: admin?.port, routes: runtime.routes.length, ready: runtime.readiness(), heapGrowingPercent: heap.percent }, 'gatehouse listening');

  const overrides = { port: options.port !== undefined, adminPort: options.adminPort !== undefined };
  const reloader = createReloader(initial, log, async (next) => {
    const old = ref.current;
    // Everything that can fail comes before the swap: a bad key, certificate or config changes nothing.
    const key = ownsKey ? await reloadedKey(signer, next.config) : undefined;
    const nextRuntime = await compileRuntime(next.config, { baseDir: next.baseDir, signer });
    let tls: boolean;
    try {
      await nextRuntime.start();
      // New connections get the new certificate from here; open ones finish with theirs.
      tls = listener.updateTls(next.config.listen!.tls);
    } catch (err) {
      await nextRuntime.close();
      throw err;
    }
    ref.current = nextRuntime;
    // A replaced key stays published until every assertion it signed has expired.
    const assertion = ownsKey
      ? signer.rotate({ key, issuer: next.config.assertion?.issuer ?? 'gatehouse', retainMs: longestAssertionTtlMs(old.config) })
      : undefined;
    applyLogLevel(log, next);
    heap.update(headroomBytes(next.config.heap!.headroom));
    log.info({ routes: nextRuntime.routes.length, ready: nextRuntime.readiness(), ...(tls ? { tls: 'rotated' } : {}), ...rotationFields(assertion) }, 'configuration reloaded');
    // A cluster primary warns once for all its workers.
    if (!worker) warnRestartSettings(log, initial.config, next.config, overrides);
    // In-flight requests on the old runtime keep their pools until the grace period ends.
    setTimeout(() => { void old.close(); }, parseDuration(next.config.listen!.shutdownGrace)).unref();
    return true;
  }, { watch: !worker });

  return {
    port: listener.port,
    adminPort: admin?.port,
    ref,
    metrics,
    dashboard,
    readiness() {
      const r = ref.current.readiness();
      return { ready: r.ready && !draining, draining, providers: r.providers };
    },
    reload: (secrets) => reloader.reload(secrets),
    reopenAudit: () => audit.reopen(),
    async stop() {
      reloader.stop();
      draining = true;
      admin?.setDraining();
      const result = await listener.drain(parseDuration(reloader.loaded.config.listen!.shutdownGrace));
      await release(ref.current);
      return result;
    },
  };
}
