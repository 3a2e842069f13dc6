// Gatehouse throughput benchmark (issue 5 groundwork). Usage: npm run bench   (see bench/README.md)
//
// Starts a node:http upstream (bench/upstream.mjs) and one Gatehouse child process per scenario, each from
// its own generated config, then measures with wrk, in alternating rounds (direct, scenario 1, scenario 2,
// … direct, scenario 1, …): req/s, p50/p99 latency, the gateway's CPU use and CPU time per request, its
// RSS, and the ratio to the direct upstream. On a machine with ≥ 2 CPUs and taskset, wrk and the upstream
// are pinned to CPU 0 and every gateway to CPU 1 (as in the shared harness /work/shared/bench).
//
// Knobs (environment): BENCH_DURATION (s, default 5), BENCH_WARMUP (s, default 2), BENCH_FIRST_WARMUP (s, round 1,
// default 6), BENCH_ROUNDS (default 3),
// BENCH_CONNS (default 64), BENCH_PIN (auto | 0), BENCH_RUNTIME (tsx = src/ through tsx, default | dist =
// bin/gatehouse.js, needs a build), BENCH_ONLY (comma-separated scenario ids), BENCH_ROUTES_LARGE (default
// 10000), BENCH_MISS_TOKENS (default 12000; must exceed the gateway's 10,000-entry token cache),
// BENCH_NODE_FLAGS (extra node flags for the gateways, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"),
// BENCH_JSON (write every measurement to this file), BENCH_KEEP=1 (keep the scratch folder), BENCH_LABEL (names the
// build in the table header when git cannot).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, sign as cryptoSign } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, SignJWT } from 'jose';

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
const MISS_TOKENS = Number(env.BENCH_MISS_TOKENS ?? 12_000);
const RUNTIME = env.BENCH_RUNTIME ?? 'tsx';
const NODE_FLAGS = (env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
const ONLY = env.BENCH_ONLY ? new Set(env.BENCH_ONLY.split(',').map((s) => s.trim())) : undefined;
const ISSUER = 'https://issuer.bench.invalid/';
const AUDIENCE = 'bench-api';
const ROLE = 'reader';
for (const [k, v] of Object.entries({ DURATION, WARMUP, FIRST_WARMUP, ROUNDS, CONNS, ROUTES_LARGE, MISS_TOKENS })) {
  if (!Number.isFinite(v) || v < (k.endsWith('WARMUP') ? 0 : 1)) throw new Error(`bad value for ${k}: ${v}`);
}
if (RUNTIME !== 'tsx' && RUNTIME !== 'dist') throw new Error('BENCH_RUNTIME must be tsx or dist');

// ------------------------------------------------------------------------------------------ tools
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
const PIN = env.BENCH_PIN !== '0' && process.platform === 'linux' && availableParallelism() >= 2 && has('taskset', ['-V']);
const LOAD_CPU = '0';
const GATEWAY_CPU = '1';
const pinned = (cpu: string, cmd: string, args: string[]): [string, string[]] => (PIN ? ['taskset', ['-c', cpu, cmd, ...args]] : [cmd, args]);
let CLK_TCK = 100;
try {
  CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch { /* not Linux: CPU figures are skipped anyway */ }
if (RUNTIME === 'dist' && !existsSync(join(ROOT, 'dist/cli/main.js'))) throw new Error('BENCH_RUNTIME=dist needs a build: npx tsc -p tsconfig.build.json');

// ------------------------------------------------------------------------------------------ process bookkeeping
const DIR = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
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

// ------------------------------------------------------------------------------------------ /proc
function cpuTicks(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime, all threads
  } catch {
    return undefined;
  }
}
function rssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
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

// ------------------------------------------------------------------------------------------ configs
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
function config(routeCount: number, auditPath: string): object {
  const routes: RouteCfg[] = [
    { name: 'public', match: { path: '/public/*', methods: ['GET'] }, public: true, upstream: { url: UPSTREAM_URL } },
    api('api', '/api/*'),
    api('signed', '/signed/*', { assertion: true }),
  ];
  for (let i = 0; routes.length < routeCount; i++) routes.push(filler(i));
  return {
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    audit: { sink: 'file', path: auditPath },
    log: { level: 'info' }, // the 'gatehouse listening' line (port) is logged at info
    providers: { bench: { type: 'oidc', issuer: ISSUER, jwksUri: JWKS_URI, audience: AUDIENCE, algorithms: ['RS256'] } },
    routes,
  };
}

// ------------------------------------------------------------------------------------------ scenarios
interface Scenario {
  readonly id: string;
  readonly label: string;
  readonly path: string;
  /** undefined: the direct upstream, no gateway. */
  readonly routes?: number;
  readonly tokens: 'reused' | 'rotating' | 'none';
}
const ALL: Scenario[] = [
  { id: 'direct', label: 'direct upstream (no gateway)', path: '/api/items', tokens: 'reused' },
  { id: 'public', label: 'public route (no auth), audit', path: '/public/items', routes: ROUTES_SMALL, tokens: 'none' },
  { id: 'jwt', label: 'RS256 reused + policy + audit + identity headers', path: '/api/items', routes: ROUTES_SMALL, tokens: 'reused' },
  { id: 'assertion', label: '… + signed identity assertion (ES256)', path: '/signed/items', routes: ROUTES_SMALL, tokens: 'reused' },
  { id: 'jwt-10k', label: `RS256 reused + policy + audit, ${ROUTES_LARGE.toLocaleString('en-US')} routes`, path: '/api/items', routes: ROUTES_LARGE, tokens: 'reused' },
  { id: 'miss', label: `RS256, every request a new token (${MISS_TOKENS.toLocaleString('en-US')} cycling)`, path: '/api/items', routes: ROUTES_SMALL, tokens: 'rotating' },
];
const scenarios = ALL.filter((s) => s.id === 'direct' || !ONLY || ONLY.has(s.id));
const TOKENS_FILE = join(DIR, 'tokens.txt');

interface Gateway { child: ChildProcess; pid: number; url: string; startMs: number; rssStart: number | undefined }
const gateways = new Map<string, Gateway>();

async function startGateway(s: Scenario): Promise<Gateway> {
  const file = join(DIR, `${s.id}.json`);
  writeFileSync(file, JSON.stringify(config(s.routes!, join(DIR, `audit-${s.id}.log`))));
  const entry = RUNTIME === 'dist' ? [join(ROOT, 'bin/gatehouse.js')] : ['--import', 'tsx', join(ROOT, 'test/harness/cli.ts')];
  const [cmd, args] = pinned(GATEWAY_CPU, process.execPath, [...NODE_FLAGS, ...entry, 'start', '-c', file]);
  const t0 = performance.now();
  const child = track(spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] }));
  const log = createWriteStream(join(DIR, `gateway-${s.id}.log`));
  child.stderr!.pipe(log);
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stderr! });
    const timer = setTimeout(() => reject(new Error(`gateway ${s.id} did not start within 120 s (log: ${join(DIR, `gateway-${s.id}.log`)})`)), 120_000);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`gateway ${s.id} exited with ${code} (log: ${join(DIR, `gateway-${s.id}.log`)})`)); });
    lines.on('line', (line) => {
      const m = /"port":(\d+).*"msg":"gatehouse listening"/.exec(line);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
  });
  return { child, pid: child.pid!, url: `http://127.0.0.1:${port}${s.path}`, startMs: performance.now() - t0, rssStart: rssMiB(child.pid) };
}

async function get(url: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  return res.status;
}
/** Functional check before measuring: the benchmark request answers 200, and an authenticated route refuses no token. */
async function check(s: Scenario, url: string): Promise<void> {
  const withToken = await get(url, s.tokens === 'none' ? {} : { authorization: `Bearer ${token}` });
  if (withToken !== 200) throw new Error(`${s.id}: expected 200 from ${url}, got ${withToken}`);
  if (s.routes !== undefined && s.tokens !== 'none') {
    const without = await get(url);
    if (without !== 401) throw new Error(`${s.id}: expected 401 without a token from ${url}, got ${without}`);
  }
}

// ------------------------------------------------------------------------------------------ wrk
interface WrkResult { requests: number; rps: number; p50_us: number; p99_us: number; err_status: number; err_connect: number; err_read: number; err_write: number; err_timeout: number }
async function wrk(s: Scenario, url: string, seconds: number, latency: boolean): Promise<WrkResult> {
  const wrkEnv: NodeJS.ProcessEnv = { ...process.env, BENCH_TOKEN: s.tokens === 'none' ? '' : token, BENCH_TOKENS_FILE: s.tokens === 'rotating' ? TOKENS_FILE : '', BENCH_ROTATE_DIR: '' };
  const [cmd, args] = pinned(LOAD_CPU, 'wrk', ['-t1', `-c${CONNS}`, `-d${seconds}s`, ...(latency ? ['--latency'] : []), '-s', join(HERE, 'wrk-rotate.lua'), url]);
  const child = track(spawn(cmd, args, { env: wrkEnv, stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  await once(child, 'exit');
  const m = /^WRKJSON (.*)$/m.exec(out);
  if (!m) throw new Error(`wrk output not understood:\n${out}`);
  return JSON.parse(m[1]!) as WrkResult;
}

interface Measurement { id: string; round: number; rps: number; p50: number; p99: number; cpuPct?: number; cpuUsPerReq?: number; rss?: number; non2xx: number; sockErr: number }
const results: Measurement[] = [];

async function measure(s: Scenario, round: number): Promise<Measurement> {
  const gw = gateways.get(s.id);
  const url = gw ? gw.url : `${UPSTREAM_URL}${s.path}`;
  const warmup = round === 1 ? FIRST_WARMUP : WARMUP;
  if (warmup > 0) await wrk(s, url, warmup, false);
  const c0 = cpuTicks(gw?.pid);
  const t0 = performance.now();
  const w = await wrk(s, url, DURATION, true);
  const secs = (performance.now() - t0) / 1000;
  const c1 = cpuTicks(gw?.pid);
  const m: Measurement = {
    id: s.id, round, rps: w.rps, p50: w.p50_us / 1000, p99: w.p99_us / 1000, non2xx: w.err_status,
    sockErr: w.err_connect + w.err_read + w.err_write + w.err_timeout,
  };
  if (c0 !== undefined && c1 !== undefined) {
    const cpuSec = (c1 - c0) / CLK_TCK;
    m.cpuPct = (100 * cpuSec) / secs;
    m.cpuUsPerReq = w.requests > 0 ? (cpuSec / w.requests) * 1e6 : undefined;
  }
  const rss = rssMiB(gw?.pid);
  if (rss !== undefined) m.rss = rss;
  return m;
}

// ------------------------------------------------------------------------------------------ run
const fmt0 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '—' : Math.round(x).toLocaleString('en-US'));
const fmt2 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(2));
const median = (xs: number[]): number => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
function gitDescribe(): string {
  if (env.BENCH_LABEL) return env.BENCH_LABEL;
  try {
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', 'src') !== '' ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    return '(unknown version: set BENCH_LABEL)';
  }
}

try {
  const load = scenarios.length * ((WARMUP + DURATION + 0.5) * ROUNDS + FIRST_WARMUP - WARMUP);
  console.error(`bench: scratch ${DIR}; ${scenarios.length} measurements x ${ROUNDS} rounds ≈ ${Math.round(load)} s of load`);
  if (scenarios.some((s) => s.tokens === 'rotating')) {
    const t = performance.now();
    await mintMany(MISS_TOKENS, TOKENS_FILE);
    console.error(`bench: minted ${MISS_TOKENS} tokens in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  // Gateways start one after another so that startup time (e.g. compiling 10,000 routes) is measured alone.
  for (const s of scenarios) {
    if (s.routes === undefined) continue;
    const gw = await startGateway(s);
    gateways.set(s.id, gw);
    console.error(`bench: gateway ${s.id} (${s.routes} routes) pid ${gw.pid} ready in ${fmt0(gw.startMs)} ms, RSS ${fmt0(gw.rssStart)} MiB`);
  }
  for (const s of scenarios) await check(s, gateways.get(s.id)?.url ?? `${UPSTREAM_URL}${s.path}`);
  for (let round = 1; round <= ROUNDS && !interrupted; round++) {
    for (const s of scenarios) {
      if (interrupted) break;
      const m = await measure(s, round);
      results.push(m);
      console.error(`round ${round}/${ROUNDS} ${s.id.padEnd(10)} ${fmt0(m.rps).padStart(7)} req/s  p50 ${fmt2(m.p50)} ms  p99 ${fmt2(m.p99)} ms` +
        (m.cpuPct !== undefined ? `  gateway CPU ${fmt0(m.cpuPct)}%  ${fmt0(m.cpuUsPerReq)} µs/req  RSS ${fmt0(m.rss)} MiB` : '') +
        (m.non2xx || m.sockErr ? `  non-2xx ${m.non2xx} socket errors ${m.sockErr}` : ''));
    }
  }

  const direct = median(results.filter((r) => r.id === 'direct').map((r) => r.rps));
  const lines = [
    '',
    `Gatehouse ${gitDescribe()}, runtime ${RUNTIME}, node ${process.version}, ${availableParallelism()} CPUs; ` +
      `wrk -t1 -c${CONNS}, ${ROUNDS} alternating rounds of ${WARMUP} s warm-up (round 1: ${FIRST_WARMUP} s) + ${DURATION} s; ` +
      (PIN ? `wrk + upstream (node:http) pinned to CPU ${LOAD_CPU}, each gateway to CPU ${GATEWAY_CPU}` : 'no CPU pinning (gateway, upstream and wrk share the cores)'),
    '',
    '| scenario | req/s (median) | min – max | × direct | p50 ms | p99 ms | gateway CPU | CPU µs/req | RSS MiB at start / max after a round | start ms | non-2xx |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const s of scenarios) {
    const rs = results.filter((r) => r.id === s.id);
    if (rs.length === 0) continue;
    const rps = rs.map((r) => r.rps);
    const gw = gateways.get(s.id);
    const rssMax = Math.max(...rs.map((r) => r.rss ?? NaN).filter(Number.isFinite));
    lines.push(`| ${s.label} | ${fmt0(median(rps))} | ${fmt0(Math.min(...rps))} – ${fmt0(Math.max(...rps))} | ${fmt2(median(rps) / direct)} | ` +
      `${fmt2(median(rs.map((r) => r.p50)))} | ${fmt2(median(rs.map((r) => r.p99)))} | ` +
      `${gw ? `${fmt0(median(rs.map((r) => r.cpuPct ?? NaN)))}%` : '—'} | ${gw ? fmt0(median(rs.map((r) => r.cpuUsPerReq ?? NaN))) : '—'} | ` +
      `${gw ? `${fmt0(gw.rssStart)} / ${fmt0(rssMax)}` : '—'} | ${gw ? fmt0(gw.startMs) : '—'} | ${rs.reduce((a, r) => a + r.non2xx + r.sockErr, 0)} |`);
  }
  lines.push('', '*gateway CPU*: share of one core used by the gateway process during the measurement (≈ 100 % = the gateway is the bottleneck); ' +
    '*CPU µs/req*: gateway CPU time per request, the figure to compare across machines and changes. See bench/README.md.');
  console.log(lines.join('\n'));
  if (env.BENCH_JSON) writeFileSync(env.BENCH_JSON, JSON.stringify({ date: new Date().toISOString(), settings: { DURATION, WARMUP, ROUNDS, CONNS, PIN, RUNTIME }, gateways: Object.fromEntries([...gateways].map(([k, g]) => [k, { startMs: g.startMs, rssStart: g.rssStart }])), results }, null, 2));
} catch (err) {
  if (!interrupted) console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await stopAll();
  jwksServer.close();
  if (env.BENCH_KEEP === '1') console.error(`bench: kept ${DIR}`);
  else rmSync(DIR, { recursive: true, force: true });
}
