import cluster from 'node:cluster';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { workerCount } from '../config/semantic.js';
import { createLogger } from '../observe/log.js';
import { runCluster, runClusterWorker } from '../server/cluster.js';
import { runGateway } from '../server/run.js';
import { engineRefusal } from '../server/engine.js';
import { startSampleUpstream } from './sample-server.js';
import { configPath, reportError, SAMPLE_UPSTREAM_PORT } from './common.js';

/** `gatehouse start`: serve until SIGTERM/SIGINT, then drain and exit 0. SIGHUP reloads. With `workers` > 1, the primary of a cluster. */
export async function startCommand(args: string[]): Promise<number> {
  // node:cluster re-runs this command in each worker; the primary sends it everything it needs.
  if (cluster.isWorker) return runClusterWorker(createLogger());
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string' },
      'admin-port': { type: 'string' },
      'sample-upstream': { type: 'string' },
    },
  });
  const log = createLogger();
  const refused = engineRefusal(process.versions, process.env);
  if (refused !== undefined) {
    log.error(refused);
    return 2;
  }
  const file = configPath(values.config);
  // The embedded default needs its sample upstream; an explicit config can ask for it too.
  const samplePort = values['sample-upstream'] ?? (values.config ? undefined : String(SAMPLE_UPSTREAM_PORT));
  try {
    const sample = samplePort !== undefined ? await startSampleUpstream(Number(samplePort)) : undefined;
    if (sample) log.info({ port: sample.port }, 'sample upstream listening');
    const overrides = {
      ...(values.port ? { port: Number(values.port) } : {}),
      ...(values['admin-port'] ? { adminPort: Number(values['admin-port']) } : {}),
    };
    const loaded = await loadConfig(file);
    const gateway = workerCount(loaded.config) > 1 ? await runCluster(loaded, log, overrides) : await runGateway(file, log, { ...overrides, loaded });
    return await new Promise<number>((resolve) => {
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        log.info({ signal, inFlight: 'draining' }, 'shutting down');
        gateway.stop().then(async ({ forced }) => {
          await sample?.close();
          log.info({ forced }, 'stopped');
          resolve(0);
        }, (err: unknown) => { log.error({ err }, 'shutdown failed'); resolve(1); });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      process.on('SIGHUP', () => { void gateway.reload(); });
      // logrotate's postrotate: the audit file is reopened at its path, its hash chain continuing.
      process.on('SIGUSR2', () => gateway.reopenAudit());
    });
  } catch (err) {
    return reportError(err);
  }
}
