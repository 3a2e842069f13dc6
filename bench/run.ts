// Gatehouse benchmark: every issue-5 target that one machine can show. Usage: npm run bench   (see bench/README.md)
//
// Starts a node:http upstream (bench/upstream.mjs), the naive node:http + undici proxy (bench/naive-proxy.mjs) and
// one Gatehouse child process per scenario, each from its own generated config, then measures in alternating
// rounds (direct, scenario 1, scenario 2, … direct, scenario 1, …). Load scenarios: wrk's req/s and p50/p99, the
// server's CPU use and CPU time per request (its whole process tree: a cluster primary and its workers), its RSS
// (sampled every 100 ms) and the ratio to the direct upstream. Memory scenarios (1,000 idle keep-alive connections
// under load; a 1 GiB download) go to a Memory table. A Targets table ends the output: issue 5's targets as
// ratios between scenarios and RSS limits, met or missed.
// On a machine with ≥ 2 CPUs and taskset, wrk, the upstream and this process (JWKS server, idle connections,
// download client) are pinned to CPU 0, every gateway and the naive proxy to CPU 1, as in the shared harness
// (bench/README.md); the workers-* scenarios run the gateway and wrk on every CPU.
//
// Knobs (environment): BENCH_DURATION (s, default 5), BENCH_WARMUP (s, default 2), BENCH_FIRST_WARMUP (s, round 1,
// default 6), BENCH_ROUNDS (default 3), BENCH_CONNS (default 64), BENCH_PIN (auto | 0), BENCH_RUNTIME (tsx = src/
// through tsx, default | dist = bin/gatehouse.js, needs a build), BENCH_ONLY (comma-separated scenario ids),
// BENCH_ROUTES_LARGE (default 10000), BENCH_MISS_TOKENS (default 40000; bench/README.md says why; fewer than the gateway's 10,000-entry
// token cache), BENCH_IDLE_CONNS (default 1000), BENCH_DOWNLOAD_MIB (default 1024), REDIS_URL (default
// redis://127.0.0.1:6379), BENCH_NODE_FLAGS (extra node flags for the gateways, e.g. "--cpu-prof
// --cpu-prof-dir=/tmp/prof"), BENCH_JSON (write every measurement to this file), BENCH_KEEP=1 (keep the scratch
// folder), BENCH_LABEL (names the build in the table header when git cannot).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, sign as cryptoSign } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, SignJWT } from 'jose';
import { cpuSeconds, download, median, openIdleConnections, processTree, redisProblem, rssMiB, sampleRss, type IdleConnections } from './lib.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const env = process.env;
const seconds = (v: string | undefined, def: number): number => (v === undefined || v === '' ? def : Number(v.replace(/s$/, '')));
const DURATION = seconds(env.BENCH_DURATION, 5);
const WARMUP = seconds(env.BENCH_WARMUP, 2);
// Fresh Node processes are still compiling hot code during their first seconds (round 1 ran ~20 % slower
// with only 2 s of warm-up), so round 1 gets a longer warm-up.
const FIRST_WARMUP = seconds(env.BENCH_FIRST_WARMUP, Math.max(WARMUP, 6));
const ROUNDS = Number(env.BENCH_ROUNDS ?? 3);
const CONNS = Number(env.BENCH_CONNS ?? 64);
const ROUTES_LARGE = Number(env.BENCH_ROUTES_LARGE ?? 10_000);
const ROUTES_SMALL = 10;
const MISS_TOKENS = Number(env.BENCH_MISS_TOKENS ?? 40_000);
const IDLE_CONNS = Number(env.BENCH_IDLE_CONNS ?? 1000);
const DOWNLOAD_MIB = Number(env.BENCH_DOWNLOAD_MIB ?? 1024);
const REDIS_URL = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUNTIME = env.BENCH_RUNTIME ?? 'tsx';
const NODE_FLAGS = (env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
const ISSUER = 'https://issuer.bench.invalid/';
const AUDIENCE = 'bench-api';
const ROLE = 'reader';
const MIB = 1024 * 1024;
for (const [k, v] of Object.entries({ DURATION, WARMUP, FIRST_WARMUP, ROUNDS, CONNS, ROUTES_LARGE, MISS_TOKENS, IDLE_CONNS, DOWNLOAD_MIB })) {
  if (!Number.isFinite(v) || v < (k.endsWith('WARMUP') ? 0 : 1)) throw new Error(`bad value for ${k}: ${v}`);
}
if (RUNTIME !== 'tsx' && RUNTIME !== 'dist') throw new Error('BENCH_RUNTIME must be tsx or dist');

// ------------------------------------------------------------------------------------------ scenarios
interface Scenario {
  readonly id: string;
  readonly label: string;
  /** What answers: the upstream itself, the naive proxy, or a Gatehouse child process. */
  readonly server: 'direct' | 'naive' | 'gateway';
  readonly path: string;
  readonly tokens: 'reused' | 'rotating' | 'none';
  /** Gateway config: routes loaded (ROUTES_SMALL or ROUTES_LARGE), and what else differs from `jwt`'s config. */
  readonly routes?: number;
  readonly workers?: number;
  readonly redisLimit?: boolean;
  /** `limits.redis.leaseTokens` for redisLimit scenarios (default 1: exact). */
  readonly leaseTokens?: number;
  readonly idleTimeout?: string;
  /** false: the server and wrk may use every CPU (default: server on GATEWAY_CPU, wrk on LOAD_CPU). */
  readonly pinned?: boolean;
  /** A memory scenario: reported in the Memory table, not the req/s table. */
  readonly memory?: 'idle-conns' | 'download';
  /** Path of the functional check, when the measured path is not fit for it (the download). */
  readonly checkPath?: string;
  /** Path of the warm-up, when it is not wrk load on `path` (the download: one smaller download). */
  readonly warmupPath?: string;
}
const DOWNLOAD_BYTES = DOWNLOAD_MIB * MIB;
const DOWNLOAD_WARMUP_BYTES = Math.min(DOWNLOAD_MIB, 64) * MIB;
const JWT_LIKE = { server: 'gateway', path: '/api/items', routes: ROUTES_SMALL, tokens: 'reused' } as const;
const ALL: Scenario[] = [
  { id: 'direct', label: 'direct upstream (no gateway)', server: 'direct', path: '/api/items', tokens: 'reused' },
  { id: 'naive', label: 'naive node:http + undici proxy (reference: no routing, auth or audit)', server: 'naive', path: '/public/items', tokens: 'none' },
  { id: 'public', label: 'public route (no auth), audit', server: 'gateway', path: '/public/items', routes: ROUTES_SMALL, tokens: 'none' },
  { id: 'jwt', label: 'RS256 reused + policy + audit + identity headers', ...JWT_LIKE },
  { id: 'assertion', label: '… + signed identity assertion (ES256)', ...JWT_LIKE, path: '/signed/items' },
  { id: 'redis-limit', label: '… + per-identity rate limit, Redis store', ...JWT_LIKE, redisLimit: true },
  { id: 'redis-lease', label: '… + the same limit, Redis store with `leaseTokens: 10`', ...JWT_LIKE, redisLimit: true, leaseTokens: 10 },
  { id: 'jwt-10k', label: `RS256 reused + policy + audit, ${ROUTES_LARGE.toLocaleString('en-US')} routes`, ...JWT_LIKE, routes: ROUTES_LARGE },
  { id: 'miss', label: `RS256, every request a new token (${MISS_TOKENS.toLocaleString('en-US')} cycling)`, ...JWT_LIKE, tokens: 'rotating' },
  { id: 'workers-1-unpinned', label: 'RS256 reused …, `workers: 1`, gateway + wrk not pinned', ...JWT_LIKE, workers: 1, pinned: false },
  { id: 'workers-2', label: 'RS256 reused …, `workers: 2`, gateway + wrk not pinned', ...JWT_LIKE, workers: 2, pinned: false },
  { id: 'idle-conns', label: `jwt load + ${IDLE_CONNS.toLocaleString('en-US')} idle keep-alive connections`, ...JWT_LIKE, idleTimeout: '10m', memory: 'idle-conns' },
  {
    id: 'download', label: `${DOWNLOAD_MIB.toLocaleString('en-US')} MiB download, public route`, server: 'gateway', path: `/public/bytes/${DOWNLOAD_BYTES}`,
    checkPath: '/public/bytes/16', warmupPath: `/public/bytes/${DOWNLOAD_WARMUP_BYTES}`, routes: ROUTES_SMALL, tokens: 'none', memory: 'download',
  },
];
const ONLY = env.BENCH_ONLY ? new Set(env.BENCH_ONLY.split(',').map((s) => s.trim()).filter(Boolean)) : undefined;
const unknown = [...(ONLY ?? [])].filter((id) => !ALL.some((s) => s.id === id));
if (unknown.length > 0) throw new Error(`BENCH_ONLY: unknown scenario ${unknown.join(', ')} (known: ${ALL.map((s) => s.id).join(', ')})`);
const selected = ALL.filter((s) => s.id === 'direct' || !ONLY || ONLY.has(s.id));
const authHeaders = (s: Scenario): Record<string, string> => (s.tokens === 'none' ? {} : { authorization: `Bearer ${token}` });

// ------------------------------------------------------------------------------------------ tools, CPU placement
function has(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch (err) {
    // wrk -v exits 1 after printing its version; only "not found" counts as missing.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}
if (!has('wrk', ['-v'])) {
  console.error('bench: wrk is not installed. Install it (Debian/Ubuntu: apt-get install -y wrk) and run again.');
  process.exit(1);
}
const CPUS = availableParallelism(); // read before this process is pinned to one CPU
const PIN = env.BENCH_PIN !== '0' && process.platform === 'linux' && CPUS >= 2 && has('taskset', ['-V']);
const LOAD_CPU = '0';
const GATEWAY_CPU = '1';
/** Every CPU this process could use at start ("0-1"): what unpinned children get back once this process is pinned. */
const ALL_CPUS = PIN ? execFileSync('taskset', ['-c', '-p', String(process.pid)], { encoding: 'utf8' }).trim().split(': ').pop()! : '';
// This process (JWKS server, idle connections, download client, RSS sampler) belongs with the load on CPU 0.
if (PIN) execFileSync('taskset', ['-a', '-c', '-p', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
const pinned = (cpu: string, cmd: string, args: string[]): [string, string[]] => (PIN ? ['taskset', ['-c', cpu, cmd, ...args]] : [cmd, args]);
if (RUNTIME === 'dist' && !existsSync(join(ROOT, 'dist/cli/main.js'))) throw new Error('BENCH_RUNTIME=dist needs a build: npx tsc -p tsconfig.build.json');

// ------------------------------------------------------------------------------------------ process bookkeeping
const DIR = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
const TOKENS_FILE = join(DIR, 'tokens.txt');
const children = new Set<ChildProcess>();
function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c)));
}
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    interrupted = true;
    console.error(`\nbench: ${sig}, stopping children`);
    void stopAll().then(() => {
      if (env.BENCH_KEEP !== '1') rmSync(DIR, { recursive: true, force: true });
      process.exit(130);
    });
  });
}

// ------------------------------------------------------------------------------------------ keys, JWKS, tokens
const { publicKey, privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
const jwk = { ...(await exportJWK(publicKey)), alg: 'RS256', use: 'sig' };
const kid = await calculateJwkThumbprint(jwk);
const jwksBody = JSON.stringify({ keys: [{ ...jwk, kid }] });
const jwksServer = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(jwksBody) }).end(jwksBody);
});
jwksServer.listen(0, '127.0.0.1');
await once(jwksServer, 'listening');
const JWKS_URI = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;

const now = Math.floor(Date.now() / 1000);
const token = await new SignJWT({ roles: [ROLE] })
  .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid })
  .setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('bench-user').setIssuedAt(now).setExpirationTime(now + 86_400)
  .sign(privateKey);

/** Distinct tokens for the cache-miss scenario (node:crypto signs ~4x faster than jose's WebCrypto path). */
async function mintMany(n: number, file: string): Promise<void> {
  const key = createPrivateKey(await exportPKCS8(privateKey));
  const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const header = b64({ alg: 'RS256', typ: 'JWT', kid });
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const input = `${header}.${b64({ roles: [ROLE], iss: ISSUER, aud: AUDIENCE, sub: `bench-user-${i}`, iat: now, exp: now + 86_400, jti: `m${i}` })}`;
    lines.push(`${input}.${cryptoSign('sha256', Buffer.from(input), key).toString('base64url')}`);
  }
  writeFileSync(file, lines.join('\n') + '\n');
}

// ------------------------------------------------------------------------------------------ upstream
async function readPortLine(child: ChildProcess): Promise<number> {
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return Number(line.toString().trim());
}
const [upCmd, upArgs] = pinned(LOAD_CPU, process.execPath, [join(HERE, 'upstream.mjs')]);
const upstream = track(spawn(upCmd, upArgs, { stdio: ['ignore', 'pipe', 'inherit'] }));
const UPSTREAM_URL = `http://127.0.0.1:${await readPortLine(upstream)}`;

// ------------------------------------------------------------------------------------------ gateway configs
type RouteCfg = Record<string, unknown>;
const api = (name: string, path: string, extra: object = {}): RouteCfg => ({
  name, match: { path, methods: ['GET'] }, authenticate: ['bench'], allow: [{ name: 'readers', roles: [ROLE] }], upstream: { url: UPSTREAM_URL, ...extra },
});
/** Routes that never match the measured request but make the table realistic: static, :param, prefix, host. */
function filler(i: number): RouteCfg {
  switch (i % 4) {
    case 0: return api(`svc-${i}-item`, `/svc-${i}/items/:id`);
    case 1: return api(`svc-${i}-tree`, `/svc-${i}/*`);
    case 2: return api(`svc-${i}-static`, `/svc-${i}/reports/daily`);
    default: return { ...api(`svc-${i}-host`, '/api/*'), match: { host: `tenant-${i}.example.com`, path: '/api/*', methods: ['GET'] } };
  }
}
// The Redis script keeps the rate limiter's state with µs precision: 1,000,000/s is the highest rate whose
// state still advances on every request. With that burst the limit never refuses during a run.
const PER_IDENTITY_LIMIT = { name: 'per-identity', key: ['subject'], rate: '1000000/s', burst: 1_000_000 };
function config(s: Scenario): object {
  const routes: RouteCfg[] = [
    { name: 'public', match: { path: '/public/*', methods: ['GET'] }, public: true, upstream: { url: UPSTREAM_URL } },
    { ...api('api', '/api/*'), ...(s.redisLimit ? { limits: [PER_IDENTITY_LIMIT] } : {}) },
    api('signed', '/signed/*', { assertion: true }),
  ];
  for (let i = 0; routes.length < s.routes!; i++) routes.push(filler(i));
  return {
    ...(s.workers === undefined ? {} : { workers: s.workers }),
    listen: { host: '127.0.0.1', port: 0, ...(s.idleTimeout ? { idleTimeout: s.idleTimeout } : {}) },
    admin: { host: '127.0.0.1', port: 0 },
    audit: { sink: 'file', path: join(DIR, `audit-${s.id}.log`) },
    log: { level: 'info' }, // the 'gatehouse listening' line (port) is logged at info
    ...(s.redisLimit ? { limits: { store: 'redis', redis: { url: REDIS_URL, prefix: `gatehouse-bench-${process.pid}:`, ...(s.leaseTokens ? { leaseTokens: s.leaseTokens } : {}) } } } : {}),
    providers: { bench: { type: 'oidc', issuer: ISSUER, jwksUri: JWKS_URI, audience: AUDIENCE, algorithms: ['RS256'] } },
    routes,
  };
}

// ------------------------------------------------------------------------------------------ servers
interface Server { url: string; checkUrl: string; warmupUrl: string; child?: ChildProcess; pid?: number; startMs?: number; rssStart?: number }
const servers = new Map<string, Server>();
/** The naive proxy prints its port; a gateway logs it (with `workers` > 1, the primary once every worker listens). */
const READY = /^(\d+)$|"port":(\d+).*"msg":"gatehouse listening"/;
const GATEWAY_ENTRY = RUNTIME === 'dist' ? [join(ROOT, 'bin/gatehouse.js')] : ['--import', 'tsx', join(ROOT, 'test/harness/cli.ts')];

async function startServer(s: Scenario): Promise<Server> {
  const at = (base: string): Server => ({ url: base + s.path, checkUrl: base + (s.checkPath ?? s.path), warmupUrl: base + (s.warmupPath ?? s.path) });
  if (s.server === 'direct') return at(UPSTREAM_URL);
  let args = [join(HERE, 'naive-proxy.mjs')];
  if (s.server === 'gateway') {
    const file = join(DIR, `${s.id}.json`);
    writeFileSync(file, JSON.stringify(config(s)));
    args = [...NODE_FLAGS, ...GATEWAY_ENTRY, 'start', '-c', file];
  }
  const [cmd, argv] = pinned(s.pinned === false ? ALL_CPUS : GATEWAY_CPU, process.execPath, args);
  const logFile = join(DIR, `${s.id}.log`);
  const t0 = performance.now();
  const child = track(spawn(cmd, argv, { cwd: ROOT, env: { ...env, UPSTREAM_URL }, stdio: ['ignore', 'pipe', 'pipe'] }));
  const log = createWriteStream(logFile);
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const tail: string[] = [];
      const where = env.BENCH_KEEP === '1' ? ` (log: ${logFile})` : ' (BENCH_KEEP=1 keeps its log)';
      const timer = setTimeout(() => reject(new Error(`did not start within 120 s${where}`)), 120_000);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`exited (${signal ?? `code ${code}`}) before listening: ${tail.join(' | ') || 'no output'}${where}`));
      });
      for (const input of [child.stdout!, child.stderr!]) {
        createInterface({ input }).on('line', (line) => {
          if (line.trim() !== '' && tail.push(line.trim()) > 3) tail.shift(); // the last 3 lines, for an error message
          const m = READY.exec(line);
          if (m) {
            clearTimeout(timer);
            resolve(Number(m[1] ?? m[2]));
          }
        });
      }
    });
    return { ...at(`http://127.0.0.1:${port}`), child, pid: child.pid!, startMs: performance.now() - t0, rssStart: rssMiB(processTree(child.pid!)) };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}

async function get(url: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  return res.status;
}
/** Functional check before measuring: the request answers 200, and an authenticated route refuses no token. */
async function check(s: Scenario, srv: Server): Promise<void> {
  const withToken = await get(srv.checkUrl, authHeaders(s));
  if (withToken !== 200) throw new Error(`expected 200 from ${srv.checkUrl}, got ${withToken}`);
  if (s.server === 'gateway' && s.tokens !== 'none') {
    const without = await get(srv.checkUrl);
    if (without !== 401) throw new Error(`expected 401 without a token from ${srv.checkUrl}, got ${without}`);
  }
}

/** Why a scenario cannot run on this machine, found before starting anything for it. */
async function precondition(s: Scenario): Promise<string | undefined> {
  if (!s.redisLimit) return undefined;
  const problem = await redisProblem(REDIS_URL);
  return problem && `Redis at ${REDIS_URL} is not reachable (${problem}); start redis-server or set REDIS_URL`;
}

// ------------------------------------------------------------------------------------------ load
interface WrkResult { requests: number; bytes: number; rps: number; p50_us: number; p99_us: number; err_status: number; err_connect: number; err_read: number; err_write: number; err_timeout: number }
async function wrk(s: Scenario, url: string, secs: number, latency: boolean): Promise<WrkResult> {
  const wrkEnv: NodeJS.ProcessEnv = { ...process.env, BENCH_TOKEN: s.tokens === 'none' ? '' : token, BENCH_TOKENS_FILE: s.tokens === 'rotating' ? TOKENS_FILE : '', BENCH_ROTATE_DIR: '' };
  const [cmd, args] = pinned(s.pinned === false ? ALL_CPUS : LOAD_CPU, 'wrk', ['-t1', `-c${CONNS}`, `-d${secs}s`, ...(latency ? ['--latency'] : []), '-s', join(HERE, 'wrk-rotate.lua'), url]);
  const child = track(spawn(cmd, args, { env: wrkEnv, stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  await once(child, 'exit');
  const m = /^WRKJSON (.*)$/m.exec(out);
  if (!m) throw new Error(`wrk output not understood:\n${out}`);
  return JSON.parse(m[1]!) as WrkResult;
}
/** One download in this process (body discarded), shaped like a wrk result; a short body counts as a read error. */
async function downloadOnce(url: string): Promise<WrkResult> {
  const { status, bytes } = await download(url);
  return {
    requests: 1, bytes, rps: NaN, p50_us: NaN, p99_us: NaN,
    err_status: status === 200 ? 0 : 1, err_read: bytes === DOWNLOAD_BYTES ? 0 : 1, err_connect: 0, err_write: 0, err_timeout: 0,
  };
}

interface Measurement {
  id: string; round: number;
  /** NaN (null in BENCH_JSON) for the download. */
  rps: number; p50: number; p99: number;
  cpuPct?: number; cpuUsPerReq?: number;
  /** Largest RSS (MiB, whole process tree) during the round, warm-up included, sampled every 100 ms. */
  rss?: number;
  /** RSS just before the round (memory scenarios: before the idle connections are opened / the download starts). */
  rssBefore?: number;
  /** idle-conns: idle connections still open at the end of the round. */
  idleOpen?: number;
  /** download: MiB/s. */
  mibPerSec?: number;
  non2xx: number; sockErr: number;
}
const results: Measurement[] = [];

/** Unrecorded load before a measurement: wrk for BENCH_WARMUP s (round 1: BENCH_FIRST_WARMUP s), or one smaller download. */
async function warmUp(s: Scenario, srv: Server, round: number): Promise<void> {
  const secs = round === 1 ? FIRST_WARMUP : WARMUP;
  if (secs <= 0) return;
  if (s.memory === 'download') await download(srv.warmupUrl);
  else await wrk(s, srv.warmupUrl, secs, false);
}

async function measure(s: Scenario, round: number): Promise<Measurement> {
  const srv = servers.get(s.id)!;
  const tree = srv.pid === undefined ? [] : processTree(srv.pid);
  // The download's idle figure is the warmed-up process's (one-time costs of a first download excluded); for
  // the others RSS is watched from the start of the round (idle-conns: before its connections are opened).
  if (s.memory === 'download') await warmUp(s, srv, round);
  const rssBefore = rssMiB(tree);
  const rss = sampleRss(tree);
  let idle: IdleConnections | undefined;
  try {
    if (s.memory === 'idle-conns') idle = await openIdleConnections(srv.url, authHeaders(s), IDLE_CONNS);
    if (s.memory !== 'download') await warmUp(s, srv, round);
    const c0 = cpuSeconds(tree);
    const t0 = performance.now();
    const w = s.memory === 'download' ? await downloadOnce(srv.url) : await wrk(s, srv.url, DURATION, true);
    const secs = (performance.now() - t0) / 1000;
    const c1 = cpuSeconds(tree);
    const m: Measurement = {
      id: s.id, round, rps: w.rps, p50: w.p50_us / 1000, p99: w.p99_us / 1000, non2xx: w.err_status,
      sockErr: w.err_connect + w.err_read + w.err_write + w.err_timeout,
    };
    if (c0 !== undefined && c1 !== undefined) {
      m.cpuPct = (100 * (c1 - c0)) / secs;
      if (s.memory !== 'download' && w.requests > 0) m.cpuUsPerReq = ((c1 - c0) / w.requests) * 1e6;
    }
    if (idle) m.idleOpen = idle.stillOpen();
    if (s.memory === 'download') m.mibPerSec = w.bytes / MIB / secs;
    m.rssBefore = rssBefore;
    m.rss = rss.stop();
    return m;
  } finally {
    rss.stop();
    idle?.close();
  }
}

// ------------------------------------------------------------------------------------------ report
const fmt0 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '—' : Math.round(x).toLocaleString('en-US'));
const fmt2 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(2));
function gitDescribe(): string {
  if (env.BENCH_LABEL) return env.BENCH_LABEL;
  try {
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', 'src') !== '' ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    return '(unknown version: set BENCH_LABEL)';
  }
}

/** Medians (and extremes) over a scenario's rounds. */
interface Summary {
  s: Scenario; srv: Server; rs: Measurement[];
  rps: number; rpsMin: number; rpsMax: number; cpuPct: number; cpuUs: number;
  rssMax: number; rssBefore: number; growthMedian: number; growthWorst: number;
}
const maxOf = (xs: number[]): number => Math.max(...xs.filter(Number.isFinite));
function summarize(s: Scenario): Summary | undefined {
  const rs = results.filter((r) => r.id === s.id);
  const srv = servers.get(s.id);
  if (rs.length === 0 || !srv) return undefined;
  const rps = rs.map((r) => r.rps);
  const growth = rs.map((r) => (r.rss ?? NaN) - (r.rssBefore ?? NaN));
  return {
    s, srv, rs,
    rps: median(rps), rpsMin: Math.min(...rps), rpsMax: Math.max(...rps),
    cpuPct: median(rs.map((r) => r.cpuPct ?? NaN)), cpuUs: median(rs.map((r) => r.cpuUsPerReq ?? NaN)),
    rssMax: maxOf(rs.map((r) => r.rss ?? NaN)), rssBefore: median(rs.map((r) => r.rssBefore ?? NaN)),
    growthMedian: median(growth), growthWorst: maxOf(growth),
  };
}
const errors = (sum: Summary): number => sum.rs.reduce((a, r) => a + r.non2xx + r.sockErr, 0);

/** A markdown table; a header ending in ':' is right-aligned (figures). */
function table(headers: string[], rows: string[][]): string[] {
  return [
    `| ${headers.map((h) => h.replace(/:$/, '')).join(' | ')} |`,
    `|${headers.map((h) => (h.endsWith(':') ? '--:' : '---')).join('|')}|`,
    ...rows.map((cells) => `| ${cells.join(' | ')} |`),
  ];
}

function mainTable(sums: Summary[], direct: number): string[] {
  return table(
    ['scenario', 'req/s (median):', 'min – max:', '× direct:', 'p50 ms:', 'p99 ms:', 'gateway CPU:', 'CPU µs/req:', 'RSS MiB at start / max during a round:', 'start ms:', 'errors:'],
    sums.map((sum) => {
      const { s, srv, rs } = sum;
      const proc = srv.pid !== undefined;
      return [
        s.label, fmt0(sum.rps), `${fmt0(sum.rpsMin)} – ${fmt0(sum.rpsMax)}`, fmt2(sum.rps / direct),
        fmt2(median(rs.map((r) => r.p50))), fmt2(median(rs.map((r) => r.p99))),
        proc ? `${fmt0(sum.cpuPct)}%` : '—', proc ? fmt0(sum.cpuUs) : '—', proc ? `${fmt0(srv.rssStart)} / ${fmt0(sum.rssMax)}` : '—',
        proc ? fmt0(srv.startMs) : '—', String(errors(sum)),
      ];
    }),
  );
}

function memoryTable(sums: Summary[]): string[] {
  return table(
    ['scenario', 'RSS MiB idle before (median):', 'RSS MiB max during (all rounds):', 'growth MiB (median / worst round):', 'gateway CPU:', 'load', 'errors:'],
    sums.map((sum) => [
      sum.s.label, fmt0(sum.rssBefore), fmt0(sum.rssMax), `${fmt0(sum.growthMedian)} / ${fmt0(sum.growthWorst)}`, `${fmt0(sum.cpuPct)}%`,
      sum.s.memory === 'idle-conns'
        ? `${fmt0(sum.rps)} req/s (jwt); idle connections still open at the end of a round: ${fmt0(Math.min(...sum.rs.map((r) => r.idleOpen ?? NaN)))} of ${fmt0(IDLE_CONNS)} (fewest)`
        : `${fmt0(median(sum.rs.map((r) => r.mibPerSec ?? NaN)))} MiB/s (median)`,
      String(errors(sum)),
    ]),
  );
}

interface Target {
  id: string; what: string; goal: string;
  /** Ratio of two scenarios' req/s (and inverse ratio of their CPU µs/req); met when ≥ min. */
  ratio?: { num: string; den: string; min?: number };
  /** An RSS figure of a memory scenario; met when ≤ maxMB (10^6 bytes). */
  rss?: { id: string; figure: 'rssMax' | 'growthWorst'; maxMB: number };
  /** Measured against HAProxy in the shared harness, not here: the row shows this scenario's figures. */
  harness?: string;
}
const TARGETS: Target[] = [
  { id: '1', what: 'RS256 reused + policy + audit + identity headers', goal: '≥ 1.0× HAProxy jwt_verify RS256 per core (shared harness)', harness: 'jwt' },
  { id: '2', what: 'every request a new token (cache misses)', goal: '≥ 0.6× HAProxy jwt_verify RS256 per core (shared harness)', harness: 'miss' },
  { id: '3', what: 'public route ÷ naive node:http + undici proxy', goal: '≥ 1.00 (and ≥ 1.7× fast-gateway: shared harness)', ratio: { num: 'public', den: 'naive', min: 1.0 } },
  { id: '4', what: 'signed identity assertion ÷ jwt', goal: '≥ 0.90', ratio: { num: 'assertion', den: 'jwt', min: 0.9 } },
  { id: '5', what: 'Redis rate limit ÷ jwt', goal: '≥ 0.85', ratio: { num: 'redis-limit', den: 'jwt', min: 0.85 } },
  { id: '5b', what: 'Redis rate limit, `leaseTokens: 10` ÷ jwt', goal: '≥ 0.85', ratio: { num: 'redis-lease', den: 'jwt', min: 0.85 } },
  { id: '6', what: `${ROUTES_LARGE.toLocaleString('en-US')} routes ÷ ${ROUTES_SMALL} routes (jwt-10k ÷ jwt)`, goal: '≥ 0.95', ratio: { num: 'jwt-10k', den: 'jwt', min: 0.95 } },
  { id: '7a', what: `RSS max, ${IDLE_CONNS.toLocaleString('en-US')} idle keep-alive connections + jwt load`, goal: '≤ 150 MB (143 MiB)', rss: { id: 'idle-conns', figure: 'rssMax', maxMB: 150 } },
  { id: '7b', what: `RSS growth over idle during a ${DOWNLOAD_MIB.toLocaleString('en-US')} MiB download (worst round)`, goal: '≤ 30 MB (28.6 MiB)', rss: { id: 'download', figure: 'growthWorst', maxMB: 30 } },
  { id: '8', what: 'workers: 2 ÷ workers: 1 (both unpinned: gateway, wrk and upstream share the CPUs)', goal: 'none set: shows what the cores allow', ratio: { num: 'workers-2', den: 'workers-1-unpinned' } },
];

function targetRows(sum: (id: string) => Summary | undefined, problems: Map<string, string>): string[][] {
  const missing = (...ids: string[]): string | undefined => {
    const gone = ids.filter((id) => !sum(id));
    return gone.length === 0 ? undefined : `not measured: ${gone.map((id) => `${id} (${problems.get(id)?.replace(/:.*/s, '') ?? 'not in BENCH_ONLY'})`).join(', ')}`;
  };
  const verdict = (x: number, ok: (v: number) => boolean): string => (Number.isFinite(x) ? (ok(x) ? 'met' : 'missed') : '—');
  return TARGETS.map((t) => {
    const ids = t.ratio ? [t.ratio.num, t.ratio.den] : [t.rss?.id ?? t.harness!];
    const gone = missing(...ids);
    if (gone) return [t.id, t.what, gone, '', t.goal, '—'];
    if (t.harness) {
      const h = sum(t.harness)!;
      return [t.id, t.what, `here: ${fmt0(h.rps)} req/s`, `${fmt0(h.cpuUs)} µs/req`, t.goal, 'see shared harness'];
    }
    if (t.rss) {
      const mib = sum(t.rss.id)![t.rss.figure];
      const tsx = RUNTIME === 'tsx' && t.rss.figure === 'rssMax' ? ' (runtime tsx adds its compiler to RSS: judge with BENCH_RUNTIME=dist)' : '';
      return [t.id, t.what, `${fmt0(mib)} MiB`, '—', t.goal, verdict(mib, (v) => v * MIB <= t.rss!.maxMB * 1e6) + tsx];
    }
    const { num, den, min } = t.ratio!;
    const a = sum(num)!;
    const b = sum(den)!;
    const byRps = a.rps / b.rps;
    const byCpu = b.cpuUs / a.cpuUs;
    const unsaturated = [a, b].some((x) => x.s.pinned !== false && x.cpuPct < 90) ? ' †' : '';
    if (min === undefined) return [t.id, t.what, `${fmt2(byRps)}×${unsaturated}`, `${fmt2(byCpu)}×`, t.goal, '—'];
    const rpsVerdict = verdict(byRps, (v) => v >= min);
    const cpuVerdict = verdict(byCpu, (v) => v >= min);
    return [t.id, t.what, `${fmt2(byRps)}×${unsaturated}`, `${fmt2(byCpu)}×`, t.goal, rpsVerdict + (cpuVerdict !== rpsVerdict ? ` (by CPU µs/req: ${cpuVerdict})` : '')];
  });
}

// ------------------------------------------------------------------------------------------ run
const problems = new Map<string, string>(); // scenario id → why it was skipped or failed
let failures = 0;
try {
  const loadScenarios = selected.filter((s) => s.memory !== 'download').length;
  const load = loadScenarios * ((WARMUP + DURATION + 0.5) * ROUNDS + FIRST_WARMUP - WARMUP);
  const downloads = selected.some((s) => s.memory === 'download') ? ` + ${ROUNDS} downloads of ${DOWNLOAD_MIB} MiB` : '';
  console.error(`bench: scratch ${DIR}; ${selected.length} scenarios x ${ROUNDS} rounds ≈ ${Math.round(load)} s of load${downloads}`);
  if (selected.some((s) => s.tokens === 'rotating')) {
    const t = performance.now();
    await mintMany(MISS_TOKENS, TOKENS_FILE);
    console.error(`bench: minted ${MISS_TOKENS} tokens in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  // Servers start one after another so that startup time (e.g. compiling 10,000 routes) is measured alone.
  // A scenario that cannot start (e.g. a config key this build does not know) is reported and left out.
  for (const s of selected) {
    if (interrupted) break;
    const why = await precondition(s);
    if (why) {
      problems.set(s.id, `skipped: ${why}`);
      console.error(`bench: ${s.id} skipped: ${why}`);
      continue;
    }
    let srv: Server | undefined;
    try {
      srv = await startServer(s);
      await check(s, srv);
      servers.set(s.id, srv);
      if (srv.pid !== undefined) {
        console.error(`bench: ${s.id} (${s.server}${s.routes ? `, ${s.routes} routes` : ''}) pid ${srv.pid} ready in ${fmt0(srv.startMs)} ms, RSS ${fmt0(srv.rssStart)} MiB`);
      }
    } catch (err) {
      if (interrupted) throw err;
      if (srv?.child) await stopChild(srv.child);
      const msg = err instanceof Error ? err.message : String(err);
      problems.set(s.id, `failed: ${msg}`);
      failures++;
      console.error(`bench: ${s.id} FAILED, left out of the run: ${msg}`);
    }
  }
  let active = selected.filter((s) => servers.has(s.id));
  for (let round = 1; round <= ROUNDS && !interrupted; round++) {
    for (const s of active) {
      if (interrupted) break;
      let m: Measurement;
      try {
        m = await measure(s, round);
      } catch (err) {
        if (interrupted) throw err;
        // One scenario's trouble (e.g. its gateway died) ends that scenario, not the run; earlier rounds are kept.
        const msg = `failed in round ${round}, left out of later rounds: ${err instanceof Error ? err.message : String(err)}`;
        problems.set(s.id, msg);
        failures++;
        active = active.filter((a) => a !== s);
        console.error(`bench: ${s.id} ${msg}`);
        continue;
      }
      results.push(m);
      const figures = s.memory === 'download'
        ? `${fmt0(m.mibPerSec)} MiB/s`
        : `${fmt0(m.rps).padStart(7)} req/s  p50 ${fmt2(m.p50)} ms  p99 ${fmt2(m.p99)} ms`;
      console.error(`round ${round}/${ROUNDS} ${s.id.padEnd(18)} ${figures}` +
        (m.cpuPct !== undefined ? `  gateway CPU ${fmt0(m.cpuPct)}%` : '') + (m.cpuUsPerReq !== undefined ? `  ${fmt0(m.cpuUsPerReq)} µs/req` : '') +
        (m.rss !== undefined ? `  RSS ${fmt0(m.rssBefore)} → max ${fmt0(m.rss)} MiB` : '') +
        (m.idleOpen !== undefined ? `  idle connections open ${m.idleOpen}/${IDLE_CONNS}` : '') +
        (m.non2xx || m.sockErr ? `  non-2xx ${m.non2xx} socket errors ${m.sockErr}` : ''));
    }
  }

  const sums = new Map(selected.map((s) => [s.id, summarize(s)] as const));
  const sum = (id: string): Summary | undefined => sums.get(id);
  const present = (pred: (s: Scenario) => boolean): Summary[] => selected.filter(pred).map((s) => sum(s.id)).filter((x): x is Summary => x !== undefined);
  const placement = PIN
    ? `wrk, the upstream (node:http) and the bench process pinned to CPU ${LOAD_CPU}, each gateway and the naive proxy to CPU ${GATEWAY_CPU}; ` +
      `workers-* scenarios: gateway and wrk on CPUs ${ALL_CPUS}, sharing them with the upstream (CPU ${LOAD_CPU})`
    : 'no CPU pinning (gateway, upstream and wrk share the cores)';
  const lines = [
    '',
    `Gatehouse ${gitDescribe()}, runtime ${RUNTIME}, node ${process.version}, ${CPUS} CPUs; ` +
      `wrk -t1 -c${CONNS}, ${ROUNDS} alternating rounds of ${WARMUP} s warm-up (round 1: ${FIRST_WARMUP} s) + ${DURATION} s; ${placement}`,
    '',
    ...mainTable(present((s) => s.memory === undefined), sum('direct')?.rps ?? NaN),
    '',
    '*gateway CPU*: share of one core used by the server\'s process tree (gateway, cluster workers, or the naive proxy) during the measurement ' +
      '(≈ 100 % = it is the bottleneck; workers-* can exceed 100 %); *CPU µs/req*: its CPU time per request, the figure to compare across machines and changes. See bench/README.md.',
  ];
  const memory = present((s) => s.memory !== undefined);
  if (memory.length > 0) {
    lines.push('', 'Memory (RSS of the gateway process, sampled every 100 ms; MiB = 2^20 bytes)', '', ...memoryTable(memory), '',
      '*idle before*: RSS just before the round (before the idle connections are opened / the download starts); *max during*: the largest sample ' +
      'of any round, warm-up included; *growth*: max during − idle before, per round.' +
      (RUNTIME === 'tsx' ? ' Runtime tsx: every gateway also holds the TypeScript loader; judge memory with BENCH_RUNTIME=dist.' : ''));
  }
  const targets = targetRows(sum, problems);
  lines.push('', 'Targets (issue 5)', '', ...table(['#', 'target', 'measured: req/s ratio (medians):', 'CPU µs/req ratio:', 'goal', 'verdict (req/s)'], targets), '',
    '*req/s ratio*: median req/s of the first scenario ÷ the second\'s; the verdict uses it. *CPU µs/req ratio*: the second\'s CPU µs/req ÷ the first\'s, ' +
      'i.e. the req/s ratio both would reach if each saturated its core; a verdict that differs by this measure is shown in brackets. ' +
      '† a pinned server used < 90 % of its core: something else (CPU 0: wrk, upstream) limited req/s, prefer the CPU ratio.');
  if (problems.size > 0) lines.push('', 'Skipped or failed:', ...[...problems].map(([id, why]) => `- ${id}: ${why}`));
  console.log(lines.join('\n'));
  if (env.BENCH_JSON) {
    writeFileSync(env.BENCH_JSON, JSON.stringify({
      date: new Date().toISOString(), settings: { DURATION, WARMUP, ROUNDS, CONNS, PIN, RUNTIME, IDLE_CONNS, DOWNLOAD_MIB },
      gateways: Object.fromEntries([...servers].filter(([, g]) => g.pid !== undefined).map(([k, g]) => [k, { startMs: g.startMs, rssStart: g.rssStart }])),
      results, problems: Object.fromEntries(problems), targets: targets.map(([id, what, measured, cpuRatio, goal, verdict]) => ({ id, what, measured, cpuRatio, goal, verdict })),
    }, null, 2));
  }
  if (failures > 0) process.exitCode = 1;
} catch (err) {
  if (!interrupted) console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await stopAll();
  jwksServer.close();
  if (env.BENCH_KEEP === '1') console.error(`bench: kept ${DIR}`);
  else rmSync(DIR, { recursive: true, force: true });
}
