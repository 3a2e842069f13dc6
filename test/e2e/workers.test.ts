import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { loadDevIssuer } from '../../src/authn/dev/dev-issuer.js';
import { spawnCli, runCli } from '../harness/run-cli.js';
import { startUpstream } from '../harness/upstream.js';
import { writeConfig } from '../harness/gateway.js';
import { rawRequest } from '../harness/http.js';
import { alive } from '../harness/process.js';

// `workers: 2` through the real CLI: a cluster primary and two worker processes. Every request
// here uses a fresh connection (rawRequest opens one per call), so the primary spreads them.

const READY = /"port":(\d+),"admin":(\d+),"workers":2[^\n]*gatehouse listening/;

function config(upstreamUrl: string, auditFile: string, extraRoutes: object[] = []): string {
  return JSON.stringify({
    workers: 2,
    dev: true,
    listen: { port: 0, host: '127.0.0.1', shutdownGrace: '5s' },
    admin: { port: 0, host: '127.0.0.1' },
    audit: { sink: 'file', path: auditFile },
    routes: [
      { name: 'echo', match: { path: '/echo' }, public: true, upstream: { url: upstreamUrl } },
      // One request a minute per budget: with one in-process budget per worker, exactly two get through.
      { name: 'limited', match: { path: '/limited' }, public: true, limits: [{ name: 'one', key: ['route'], rate: '1/m', burst: 1 }], upstream: { url: upstreamUrl } },
      { name: 'whoami', match: { path: '/whoami' }, authenticate: ['dev'], upstream: { url: upstreamUrl, assertion: true } },
      ...extraRoutes,
    ],
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  for (let i = 0; i < 800; i++) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}


const count = (text: string, needle: string): number => text.split(needle).length - 1;

interface Readyz { status: string; workers: { worker: number; pid?: number; ready: boolean }[] }

test('workers: 2 — both workers serve, the primary answers admin for all of them, reload, restart, drain', async () => {
  const assertions: string[] = [];
  const upstream = await startUpstream((req, res) => {
    const assertion = req.headers['x-gatehouse-assertion'];
    if (typeof assertion === 'string') assertions.push(assertion);
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok ${req.url}`);
  });
  const file = writeConfig('{}');
  const auditFile = join(dirname(file), 'audit.log');
  writeFileSync(file, config(upstream.url, auditFile));
  // The gateway reads the same dev key file; loading it first creates it.
  const dev = await loadDevIssuer(true, dirname(file));
  const token = await dev.sign({ sub: 'alice' });
  const gw = await spawnCli(['start', '-c', file], READY);
  const base = `http://127.0.0.1:${gw.match[1]}`;
  const admin = `http://127.0.0.1:${gw.match[2]}`;
  const primary = gw.child.pid!;
  const readyz = async (): Promise<{ status: number; body: Readyz }> => {
    const r = await rawRequest(admin, 'GET', '/readyz');
    return { status: r.status, body: r.json<Readyz>() };
  };
  try {
    // The per-worker limit warning is printed once, by the primary.
    assert.equal(count(gw.stderr(), 'use limits.store: redis for fleet-exact limits'), 1);

    const ready = await readyz();
    assert.equal(ready.status, 200);
    assert.equal(ready.body.status, 'ready');
    const pids = ready.body.workers.map((w) => w.pid!);
    assert.equal(new Set(pids).size, 2);
    assert.ok(pids.every(alive) && !pids.includes(primary));

    // Two independent budgets answered: requests reached both worker processes.
    const limited = [];
    for (let i = 0; i < 8; i++) limited.push((await rawRequest(base, 'GET', '/limited')).status);
    assert.equal(limited.filter((s) => s === 200).length, 2, `statuses: ${limited.join(',')}`);
    assert.equal(limited.filter((s) => s === 429).length, 6);

    // /metrics on the primary sums every worker's counters.
    const K = 10;
    for (let i = 0; i < K; i++) assert.equal((await rawRequest(base, 'GET', '/echo')).status, 200);
    const echoTotal = async (): Promise<number> => {
      const text = (await rawRequest(admin, 'GET', '/metrics')).body;
      return [...text.matchAll(/^gatehouse_requests_total\{[^}]*route="echo"[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    };
    assert.equal(await waitFor('echo requests counted', async () => ((await echoTotal()) === K ? K : undefined)), K);

    // One signing key everywhere: the admin JWKS, the public JWKS from each worker, and the
    // assertions that upstreams receive from both workers.
    const jwks = (await rawRequest(admin, 'GET', '/.well-known/jwks.json')).json<JSONWebKeySet>();
    assert.equal(jwks.keys.length, 1);
    for (let i = 0; i < 8; i++) assert.deepEqual((await rawRequest(base, 'GET', '/.well-known/jwks.json')).json(), jwks);
    for (let i = 0; i < 8; i++) assert.equal((await rawRequest(base, 'GET', '/whoami', { authorization: `Bearer ${token}` })).status, 200);
    assert.equal(assertions.length, 8);
    assert.equal(new Set(assertions).size, 2, 'each worker minted (and cached) its own assertion');
    const keySet = createLocalJWKSet(jwks);
    for (const a of new Set(assertions)) {
      assert.equal(decodeProtectedHeader(a).kid, jwks.keys[0]!.kid);
      const { payload } = await jwtVerify(a, keySet, { audience: 'whoami', issuer: 'gatehouse' });
      assert.equal(payload.sub, 'alice');
    }

    // Every worker appended whole audit lines to the one file.
    const lines = await waitFor('audit lines', () => {
      const all = readFileSync(auditFile, 'utf8').split('\n').filter(Boolean);
      return all.length >= 8 + K + 8 ? all : undefined;
    });
    assert.equal(lines.length, 8 + K + 8);
    for (const line of lines) assert.equal((JSON.parse(line) as { type: string }).type, 'audit');

    // SIGHUP alone (the file unchanged, so the watcher stays quiet): every worker reloads.
    const quietBefore = count(gw.stderr(), 'configuration reloaded in every worker');
    gw.child.kill('SIGHUP');
    await waitFor('SIGHUP reload', () => count(gw.stderr(), 'configuration reloaded in every worker') === quietBefore + 1);

    // A changed file (SIGHUP and the watcher): the primary validates it once and every worker reloads it.
    assert.equal((await rawRequest(base, 'GET', '/fresh')).status, 404);
    const reloadsBefore = count(gw.stderr(), 'configuration reloaded in every worker');
    writeFileSync(file, config(upstream.url, auditFile, [{ name: 'fresh', match: { path: '/fresh' }, public: true, upstream: { url: upstream.url } }]));
    gw.child.kill('SIGHUP');
    await waitFor('reload', () => count(gw.stderr(), 'configuration reloaded in every worker') > reloadsBefore);
    for (let i = 0; i < 6; i++) assert.equal((await rawRequest(base, 'GET', '/fresh')).status, 200);

    // A worker killed outright is replaced; the restarted one serves the current config.
    const victim = pids[0]!;
    process.kill(victim, 'SIGKILL');
    await waitFor('victim gone', () => !alive(victim));
    const replaced = await waitFor('a replacement worker', async () => {
      const r = await readyz();
      return r.status === 200 && !r.body.workers.some((w) => w.pid === victim) ? r.body : undefined;
    });
    const newPids = replaced.workers.map((w) => w.pid!);
    assert.equal(new Set(newPids).size, 2);
    assert.ok(newPids.includes(pids[1]!));
    assert.match(gw.stderr(), new RegExp(`"pid":${victim},"code":null,"signal":"SIGKILL"[^\\n]*worker exited; restarting it`));
    for (let i = 0; i < 6; i++) assert.equal((await rawRequest(base, 'GET', '/fresh')).status, 200);

    // SIGTERM: every worker drains, then the primary exits 0 and no process is left.
    gw.child.kill('SIGTERM');
    assert.equal(await gw.exited, 0);
    await waitFor('workers gone', () => newPids.every((p) => !alive(p)));
    assert.equal(count(gw.stderr(), '"msg":"stopped"'), 3);
  } finally {
    gw.child.kill('SIGKILL');
    await upstream.close();
  }
});

test('workers: 2 with a bad config: the error is printed once and start fails before forking', async () => {
  const file = writeConfig(JSON.stringify({
    workers: 2,
    routes: [{ name: 'r', match: { path: '/r' }, authenticate: ['nope'], upstream: { url: 'http://127.0.0.1:1' } }],
  }));
  const r = await runCli(['start', '-c', file]);
  assert.equal(r.code, 1);
  assert.equal(count(r.stderr, 'unknown provider "nope"'), 1, r.stderr);
  assert.doesNotMatch(r.stderr, /worker/);
});

test('workers: 2 when the workers cannot start (port taken): start fails once, no restart loop', async () => {
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const port = (taken.address() as AddressInfo).port;
  const file = writeConfig(JSON.stringify({
    workers: 2,
    listen: { port, host: '127.0.0.1' },
    admin: { port: 0, host: '127.0.0.1' },
    routes: [{ name: 'r', match: { path: '/r' }, public: true, upstream: { url: 'http://127.0.0.1:1' } }],
  }));
  try {
    const r = await runCli(['start', '-c', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /gatehouse: worker \d+ failed to start: .*EADDRINUSE/);
    assert.equal(count(r.stderr, 'failed to start'), 1, r.stderr);
    assert.doesNotMatch(r.stderr, /restarting/);
  } finally {
    await new Promise((r) => taken.close(r));
  }
});
