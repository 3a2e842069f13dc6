import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnCli } from '../harness/run-cli.js';
import { startUpstream } from '../harness/upstream.js';
import { writeConfig } from '../harness/gateway.js';
import { rawRequest } from '../harness/http.js';
import { DASHBOARD_TOKEN } from '../harness/dashboard.js';

// `workers: 2`: the primary serves the dashboard and merges what every worker saw.
const READY = /"port":(\d+),"admin":(\d+),"workers":2[^\n]*gatehouse listening/;

test('with workers the dashboard counts every worker\'s traffic and simulates through a worker', async () => {
  const upstream = await startUpstream();
  const file = writeConfig('{}');
  writeFileSync(file, JSON.stringify({
    workers: 2,
    dev: true,
    listen: { port: 0, host: '127.0.0.1', shutdownGrace: '2s' },
    admin: { port: 0, host: '127.0.0.1', dashboard: { token: DASHBOARD_TOKEN } },
    audit: { sink: 'file', path: join(dirname(file), 'audit.log') },
    routes: [
      { name: 'echo', match: { path: '/echo' }, public: true, upstream: { url: upstream.url } },
      { name: 'private', match: { path: '/private' }, authenticate: ['dev'], upstream: { url: upstream.url } },
    ],
  }));
  const { child, match, exited } = await spawnCli(['start', '--config', file], READY);
  const [port, adminPort] = [match[1], match[2]];
  const api = (path: string, init: { method?: string; body?: string } = {}): Promise<Record<string, unknown>> =>
    rawRequest(`http://127.0.0.1:${adminPort}`, init.method ?? 'GET', path, { authorization: `Bearer ${DASHBOARD_TOKEN}`, 'content-type': 'application/json' }, init.body).then((r) => {
      assert.equal(r.status, 200, r.body);
      return r.json();
    });
  try {
    // A new connection per request: the primary hands them to both workers.
    const sent = 24;
    for (let i = 0; i < sent; i++) await rawRequest(`http://127.0.0.1:${port}`, 'GET', i % 3 === 0 ? '/private' : '/echo');
    const stats = await api('/dashboard/api/stats');
    assert.equal((stats.totals as { requests: number }).requests, sent);
    assert.equal((stats.byCode as { code: string; count: number }[]).find((c) => c.code === 'token_missing')?.count, sent / 3);
    const { rows } = await api('/dashboard/api/audit?limit=500') as { rows: unknown[] };
    assert.equal(rows.length, sent);
    const { routes } = await api('/dashboard/api/routes') as { routes: { name: string }[] };
    assert.deepEqual(routes.map((r) => r.name), ['echo', 'private']);
    const sim = await api('/dashboard/api/simulate', { method: 'POST', body: JSON.stringify({ path: '/private', claims: { sub: 'alice' } }) });
    assert.equal((sim.result as { outcome: string }).outcome, 'forward');
    const bad = await rawRequest(`http://127.0.0.1:${adminPort}`, 'POST', '/dashboard/api/simulate', { authorization: `Bearer ${DASHBOARD_TOKEN}` }, JSON.stringify({ path: 'no-slash' }));
    assert.equal(bad.status, 400);
    assert.equal((await rawRequest(`http://127.0.0.1:${adminPort}`, 'GET', '/dashboard/api/stats')).status, 401);
  } finally {
    child.kill('SIGTERM');
    await exited;
    await upstream.close();
  }
});
