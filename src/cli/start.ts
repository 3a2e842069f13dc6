import { parseArgs } from 'node:util';
import { createLogger } from '../observe/log.js';
import { runGateway } from '../server/run.js';
import { startSampleUpstream } from '../upstream/sample.js';
import { configPath, reportError, SAMPLE_UPSTREAM_PORT } from './common.js';

/** `gatehouse start`: serve until SIGTERM/SIGINT, then drain and exit 0. SIGHUP reloads. */
export async function startCommand(args: string[]): Promise<number> {
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
  const file = configPath(values.config);
  // The embedded default needs its sample upstream; an explicit config can ask for it too.
  const samplePort = values['sample-upstream'] ?? (values.config ? undefined : String(SAMPLE_UPSTREAM_PORT));
  try {
    const sample = samplePort !== undefined ? await startSampleUpstream(Number(samplePort)) : undefined;
    if (sample) log.info({ port: sample.port }, 'sample upstream listening');
    const gateway = await runGateway(file, log, {
      ...(values.port ? { port: Number(values.port) } : {}),
      ...(values['admin-port'] ? { adminPort: Number(values['admin-port']) } : {}),
    });
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
    });
  } catch (err) {
    return reportError(err);
  }
}
