/** A cluster worker: serves the public port with the settings its primary sends, answers its questions. */
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { ConfigError } from '../config/load.js';
import { createAssertionSigner, type AssertionSigner } from '../outbound/assertion.js';
import { adoptAssertionState } from './assertion-key.js';
import type { DashboardAnswer, FromWorker, Question, ToWorker } from './cluster-protocol.js';
import { SimulateError } from '../admin/dashboard/views.js';
import { runGateway, type RunningGateway } from './run.js';

/**
 * Run as a cluster worker: get the settings from the primary, serve the public port, answer the
 * primary's questions, drain and exit on stop (or on SIGTERM/SIGINT to this process).
 */
export function runClusterWorker(log: Logger): Promise<number> {
  const wlog = log.child({ worker: cluster.worker!.id });
  const send = (msg: FromWorker, then?: () => void): void => {
    if (process.connected) process.send!(msg, undefined, {}, () => then?.());
    else then?.();
  };
  let gateway: RunningGateway | undefined;
  /** The primary's key: this worker never rotates it on its own. */
  let signer: AssertionSigner | undefined;
  let state: 'waiting' | 'starting' | 'serving' | 'stopping' = 'waiting';
  let stopWhenStarted = false;
  const stop = (): void => {
    if (state === 'waiting') process.exit(0);
    if (state === 'starting') stopWhenStarted = true;
    if (state !== 'serving' || !gateway) return;
    state = 'stopping';
    gateway.stop().then(
      ({ forced }) => { wlog.info({ forced }, 'stopped'); send({ type: 'gatehouse:stopped', forced }, () => process.exit(0)); },
      (err: unknown) => { wlog.error({ err }, 'shutdown failed'); process.exit(1); },
    );
  };
  const start = async (init: Extract<ToWorker, { type: 'gatehouse:init' }>): Promise<void> => {
    state = 'starting';
    try {
      signer = await createAssertionSigner({ issuer: init.assertion.issuer, privateKeyPem: init.assertion.key, retired: init.assertion.retired });
      gateway = await runGateway(init.file, wlog, { worker: true, signer, secrets: new Map(Object.entries(init.secrets)), ...(init.port !== undefined ? { port: init.port } : {}) });
    } catch (err) {
      const config = err instanceof ConfigError ? { file: err.file, issues: [...err.issues] } : undefined;
      send({ type: 'gatehouse:failed', error: err instanceof Error ? err.message : String(err), ...(config ? { config } : {}) }, () => process.exit(1));
      return;
    }
    state = 'serving';
    send({ type: 'gatehouse:ready', port: gateway.port });
    if (stopWhenStarted) stop();
  };
  const answer = async (gw: RunningGateway, question: Question): Promise<unknown> => {
    if (typeof question === 'object' && question.type !== 'reload') return dashboardAnswer(gw, question);
    if (typeof question === 'object') {
      // The key first, whether or not this worker's config reload succeeds: the primary already
      // publishes it, and every worker signs with the key the primary publishes.
      try {
        await adoptAssertionState(signer!, question.assertion);
      } catch (err) {
        wlog.error({ err: err instanceof Error ? err.message : String(err) }, 'could not adopt the assertion signing key');
        return false;
      }
      return gw.reload(new Map(Object.entries(question.secrets)));
    }
    switch (question) {
      case 'readiness': return gw.readiness();
      case 'metrics': return gw.metrics.registry.getMetricsAsJSON();
    }
  };
  process.on('message', (msg: ToWorker) => {
    if (msg.type === 'gatehouse:init' && state === 'waiting') void start(msg);
    else if (msg.type === 'gatehouse:stop') stop();
    else if (msg.type === 'gatehouse:ask' && gateway) {
      void answer(gateway, msg.question).then((body) => send({ type: 'gatehouse:answer', id: msg.id, body }));
    }
  });
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // Reloads come from the primary, which validates the file once for every worker.
  process.on('SIGHUP', () => {});
  // The primary relays SIGUSR2 (logrotate) to each worker, which reopens its audit file.
  process.on('SIGUSR2', () => gateway?.reopenAudit());
  send({ type: 'gatehouse:hello' });
  return new Promise(() => {});
}

/** Answer a dashboard question from this worker's collectors and runtime; never rejects. */
async function dashboardAnswer(gw: RunningGateway, q: Extract<Question, { type: 'dashboard' | 'simulate' }>): Promise<DashboardAnswer> {
  const d = gw.dashboard;
  if (d === undefined) return { error: 'the dashboard is not enabled in this worker' };
  try {
    if (q.type === 'simulate') return { ok: await d.simulate(q.request) };
    return { ok: await d[q.what]() };
  } catch (err) {
    if (err instanceof SimulateError) return { invalid: err.message };
    return { error: err instanceof Error ? err.message : String(err) };
  }
}
