import cluster, { type Worker } from 'node:cluster';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import { compileRuntime } from '../pipeline/runtime.js';
import { ConfigError, type LoadedConfig } from '../config/load.js';
import { workerCount } from '../config/semantic.js';
import { parseDuration } from '../config/units.js';
import { createReloader } from './reloader.js';
import { startAdmin, type AdminSource } from '../admin/server.js';
import { createDashboardHandler } from '../admin/dashboard/handler.js';
import { clusterDashboardSource } from './cluster-dashboard.js';
import { createAssertionSigner, loadAssertionKey, type AssertionSigner } from '../outbound/assertion.js';
import { applyLogLevel, logWarnings } from './run.js';
import { keyMaterial, longestAssertionTtlMs, rotationFields, type AssertionState } from './assertion-key.js';
import { tlsRotates, warnRestartSettings } from './restart-settings.js';
import type { FromWorker, Question, ToWorker, WorkerReadiness } from './cluster-protocol.js';

export { runClusterWorker } from './cluster-worker.js';

/** A worker that does not answer a readiness question within this makes the gateway not ready. */
const READY_TIMEOUT_MS = 500;
const METRICS_TIMEOUT_MS = 2000;
const RELOAD_TIMEOUT_MS = 60_000;
/** Restart backoff: doubles per crash from the first, up to the last; reset once a worker stays up. */
const BACKOFF_MS = [250, 30_000] as const;
const STABLE_MS = 30_000;
/** After the shutdown grace, a worker gets this long to exit before it is killed. */
const STOP_MARGIN_MS = 5000;

/** A running cluster primary: it serves the admin port; its workers serve the public port. */
export interface RunningCluster {
  readonly port: number;
  readonly adminPort: number;
  /** Validate the config once here, then have every worker reload it; false when any could not. */
  reload(): Promise<boolean>;
  /** Every worker drains as a single process would; resolves once all have exited. */
  stop(): Promise<{ forced: number }>;
  /** Have every worker reopen its audit file (after logrotate moved it). */
  reopenAudit(): void;
}

interface Slot {
  worker: Worker | undefined;
  /** The worker listens for messages (said hello). */
  greeted: boolean;
  /** The worker has reported ready (and not exited since). */
  ready: boolean;
  startedAt: number;
  /** Crashes in a row, each within STABLE_MS of its start. */
  crashes: number;
  forced: number;
  restart: NodeJS.Timeout | undefined;
}

let nextQuestion = 0;
/** Questions waiting for an answer, by id; a worker's exit answers its own with undefined. */
const pending = new Map<number, { worker: Worker; done: (body?: unknown) => void }>();

/** Ask one worker; undefined when it does not answer in time or exits first. */
function ask<T>(worker: Worker, question: Question, timeoutMs: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const id = nextQuestion++;
    const done = (body?: unknown): void => {
      clearTimeout(timer);
      pending.delete(id);
      resolve(body as T | undefined);
    };
    const timer = setTimeout(done, timeoutMs);
    if (worker.isDead() || !worker.isConnected()) return done();
    pending.set(id, { worker, done });
    worker.send({ type: 'gatehouse:ask', id, question } satisfies ToWorker, (err: Error | null) => { if (err) done(); });
  });
}

function forgetQuestions(worker: Worker): void {
  for (const q of [...pending.values()]) if (q.worker === worker) q.done();
}

/** The workers of one primary: forks them, restarts the ones that die, stops them all. */
class Fleet {
  readonly slots: Slot[];
  private running = false;
  private stopping = false;
  private failStart!: (err: Error) => void;
  /** Rejects when any worker exits before every worker is ready: the start fails (no restart loop). */
  private readonly startFailed = new Promise<never>((_, reject) => { this.failStart = reject; });

  /**
   * `init` is asked at each hello, so a restarted worker gets the settings (and signing key) in
   * effect; `caughtUp` runs when a worker is ready, with the init it got (a reload may have come
   * while it was starting, and asked only the workers that were ready).
   */
  constructor(count: number, private readonly init: () => ToWorker, private readonly log: Logger, private readonly caughtUp: (worker: Worker, init: ToWorker) => void = () => {}) {
    this.slots = Array.from({ length: count }, () => ({ worker: undefined, greeted: false, ready: false, startedAt: 0, crashes: 0, forced: 0, restart: undefined }));
    this.startFailed.catch(() => {});
  }

  /** Fork every worker; resolves with the shared public port once all are ready. */
  async start(): Promise<number> {
    try {
      const [port = 0] = await Promise.race([Promise.all(this.slots.map((s) => this.fork(s))), this.startFailed]);
      this.running = true;
      return port;
    } catch (err) {
      this.stopping = true;
      await Promise.all(this.slots.map((s) => kill(s.worker)));
      throw err;
    }
  }

  /** Workers that have reported ready and are still running. */
  live(): Worker[] {
    return this.slots.flatMap((s) => (s.worker && s.ready ? [s.worker] : []));
  }

  /** Tell every worker to drain; kill the ones still running `limitMs` later. Resolves with the forced count. */
  async stop(limitMs: number): Promise<number> {
    this.stopping = true;
    for (const s of this.slots) clearTimeout(s.restart);
    await Promise.all(this.slots.map(async (s) => {
      const w = s.worker;
      if (!w || w.isDead()) return;
      // A worker that has not said hello yet would miss the message: it is told on hello.
      if (s.greeted && w.isConnected()) w.send({ type: 'gatehouse:stop' } satisfies ToWorker);
      if (!(await exited(w, limitMs))) {
        this.log.warn({ worker: w.id, pid: w.process.pid }, 'worker did not stop in time; killing it');
        await kill(w);
      }
    }));
    return this.slots.reduce((sum, s) => sum + s.forced, 0);
  }

  private fork(slot: Slot): Promise<number> {
    return new Promise((resolve, reject) => {
      // The slot's number names the worker's audit hash chain: a restarted worker continues it.
      const worker = cluster.fork({ GATEHOUSE_WORKER_SLOT: String(this.slots.indexOf(slot)) });
      Object.assign(slot, { worker, greeted: false, ready: false, startedAt: Date.now(), forced: 0 });
      let failure: Error | undefined;
      let sent: ToWorker | undefined;
      worker.on('error', (err: Error) => this.log.warn({ worker: worker.id, err: err.message }, 'worker channel error'));
      worker.on('message', (msg: FromWorker) => {
        switch (msg.type) {
          case 'gatehouse:hello': slot.greeted = true; worker.send(sent = this.stopping ? { type: 'gatehouse:stop' } satisfies ToWorker : this.init()); break;
          case 'gatehouse:ready': slot.ready = true; if (sent) this.caughtUp(worker, sent); resolve(msg.port); break;
          case 'gatehouse:answer': pending.get(msg.id)?.done(msg.body); break;
          case 'gatehouse:stopped': slot.forced = msg.forced; break;
          case 'gatehouse:failed':
            failure = msg.config ? new ConfigError(msg.config.file, msg.config.issues) : new Error(`worker ${worker.id} failed to start: ${msg.error}`);
            break;
        }
      });
      worker.once('exit', (code: number | null, signal: string | null) => {
        const wasReady = slot.ready;
        slot.ready = false;
        forgetQuestions(worker);
        const err = failure ?? new Error(`worker ${worker.id} exited (${signal ?? `code ${code}`})${wasReady ? '' : ' before it was ready'}`);
        reject(err);
        if (this.stopping) return;
        if (!this.running) return this.failStart(err);
        this.restartLater(slot, { worker: worker.id, pid: worker.process.pid, code, signal, ...(wasReady ? {} : { error: err.message }) });
      });
    });
  }

  /** Crashes in quick succession back off exponentially, so a crash loop does not spin. */
  private restartLater(slot: Slot, exit: Record<string, unknown>): void {
    slot.crashes = Date.now() - slot.startedAt > STABLE_MS ? 1 : slot.crashes + 1;
    const delay = Math.min(BACKOFF_MS[0] * 2 ** (slot.crashes - 1), BACKOFF_MS[1]);
    this.log.error({ ...exit, restartInMs: delay }, 'worker exited; restarting it');
    slot.restart = setTimeout(() => {
      slot.restart = undefined;
      this.fork(slot).then(() => this.log.info({ worker: slot.worker?.id, pid: slot.worker?.process.pid }, 'worker restarted'), () => {});
    }, delay);
  }
}

/** Fork `workers` processes serving `loaded` on a shared port; resolves once every one is ready. */
export async function runCluster(loaded: LoadedConfig, log: Logger, options: { port?: number; adminPort?: number } = {}): Promise<RunningCluster> {
  const count = workerCount(loaded.config);
  // The signing key is made (or read) here once and handed to every worker over IPC; the primary
  // publishes the same JWKS on the admin port and rotates the key on reload.
  let material = keyMaterial(loaded.config);
  const signer = await createAssertionSigner({ issuer: loaded.config.assertion!.issuer, privateKeyPem: material.pem });
  const assertionState = (): AssertionState => ({ issuer: signer.issuer, key: material.pem, retired: signer.retired });
  // Compile once here so compile errors and warnings print once, and the dev issuer's key file
  // exists before the workers read it.
  const check = await compileRuntime(loaded.config, { baseDir: loaded.baseDir, connect: false, signer });
  logWarnings(loaded, check, log);
  const routes = check.routes.length;
  await check.close();

  // The remote secrets in effect (read here, sent to every worker); set by each reload.
  let secrets = Object.fromEntries(loaded.remoteSecrets);
  const init = (): ToWorker => ({ type: 'gatehouse:init', file: loaded.file, assertion: assertionState(), secrets, ...(options.port !== undefined ? { port: options.port } : {}) });
  // A worker that got its key before a reload rotated it (it was starting then) is given the current one.
  const caughtUp = (worker: Worker, sent: ToWorker): void => {
    if (sent.type !== 'gatehouse:init' || (isDeepStrictEqual(sent.assertion, assertionState()) && isDeepStrictEqual(sent.secrets, secrets))) return;
    void ask(worker, { type: 'reload', assertion: assertionState(), secrets }, RELOAD_TIMEOUT_MS);
  };
  const fleet = new Fleet(count, init, log, caughtUp);
  const dashboard = loaded.config.admin!.dashboard;
  const admin = await startAdmin(loaded.config.admin!.host, options.adminPort ?? loaded.config.admin!.port, clusterAdminSource(fleet, signer),
    dashboard ? createDashboardHandler({ config: dashboard, providers: loaded.config.providers, source: clusterDashboardSource(() => fleet.live(), ask), log }) : undefined);
  const port = await fleet.start().catch(async (err: unknown) => { await admin.close(); throw err; });
  log.info({ port, admin: admin.port, workers: count, routes, pids: fleet.live().map((w) => w.process.pid) }, 'gatehouse listening');

  const overrides = { port: options.port !== undefined, adminPort: options.adminPort !== undefined };
  const reloader = createReloader(loaded, log, async (next) => {
    const prev = reloader.loaded.config;
    applyLogLevel(log, next);
    // A key that does not load fails the reload here, before any worker is asked.
    const nextMaterial = keyMaterial(next.config, material);
    const key = await loadAssertionKey(nextMaterial.pem);
    // Published on the admin port first; each worker publishes it too before it signs with it. The
    // replaced key stays published until every assertion it signed has expired (the longest
    // assertion ttl of the configs it signed under).
    const assertion = signer.rotate({ key, issuer: next.config.assertion!.issuer, retainMs: longestAssertionTtlMs(prev) });
    material = nextMaterial;
    const live = fleet.live();
    secrets = Object.fromEntries(next.remoteSecrets);
    const question: Question = { type: 'reload', assertion: assertionState(), secrets };
    const results = await Promise.all(live.map((w) => ask<boolean>(w, question, RELOAD_TIMEOUT_MS)));
    const failed = live.filter((_, i) => results[i] !== true).map((w) => w.id);
    const rotated = { ...(tlsRotates(loaded.config, prev, next.config) ? { tls: 'rotated' } : {}), ...rotationFields(assertion) };
    if (failed.length === 0) log.info({ workers: live.length, ...rotated }, 'configuration reloaded in every worker');
    else log.error({ workers: failed }, 'configuration reload failed in some workers; they keep their previous configuration (the signing key is the new one everywhere)');
    warnRestartSettings(log, loaded.config, next.config, overrides);
    return failed.length === 0;
  }, { watch: true });

  return {
    port,
    adminPort: admin.port,
    reload: () => reloader.reload(),
    reopenAudit: () => { for (const w of fleet.live()) w.process.kill('SIGUSR2'); },
    async stop() {
      reloader.stop();
      admin.setDraining();
      const forced = await fleet.stop(parseDuration(reloader.loaded.config.listen!.shutdownGrace) + STOP_MARGIN_MS);
      await admin.close();
      return { forced };
    },
  };
}

/** Whether the worker has exited within `ms`. */
function exited(worker: Worker, ms: number): Promise<boolean> {
  if (worker.isDead()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => { worker.off('exit', onExit); resolve(false); }, ms);
    const onExit = (): void => { clearTimeout(timer); resolve(true); };
    worker.once('exit', onExit);
  });
}

async function kill(worker: Worker | undefined): Promise<void> {
  if (!worker || worker.isDead()) return;
  worker.process.kill('SIGKILL');
  await exited(worker, STOP_MARGIN_MS);
}

/**
 * The primary's admin answers: ready only when every worker slot has a live worker that says it is
 * ready (asked now, fail closed on silence); metrics summed over workers by prom-client's aggregator.
 */
function clusterAdminSource(fleet: Fleet, signer: AssertionSigner): AdminSource {
  return {
    async readiness() {
      const workers = await Promise.all(fleet.slots.map(async (slot) => {
        const w = slot.worker;
        if (!w || !slot.ready) return { worker: w?.id ?? null, ready: false, state: 'starting' };
        const r = await ask<WorkerReadiness>(w, 'readiness', READY_TIMEOUT_MS);
        if (!r) return { worker: w.id, pid: w.process.pid, ready: false, state: 'no_answer' };
        return { worker: w.id, pid: w.process.pid, ready: r.ready, state: r.draining ? 'draining' : r.ready ? 'ready' : 'not_ready', providers: r.providers };
      }));
      const providers: Record<string, boolean> = {};
      for (const w of workers) for (const [name, ok] of Object.entries(w.providers ?? {})) providers[name] = (providers[name] ?? true) && ok;
      return { ready: workers.every((w) => w.ready), detail: { providers, workers } };
    },
    jwks: () => signer.jwks,
    async metrics() {
      const live = fleet.live();
      const parts = await Promise.all(live.map((w) => ask<object[]>(w, 'metrics', METRICS_TIMEOUT_MS)));
      // A partial sum would look like a counter reset: fail the scrape instead.
      if (parts.some((p) => p === undefined)) throw new Error('a worker did not report its metrics');
      const registry = AggregatorRegistry.aggregate(parts as object[][]);
      return { contentType: registry.contentType, text: await registry.metrics() };
    },
  };
}
