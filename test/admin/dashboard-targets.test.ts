import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { rawRequest } from '../harness/http.js';
import { refusingUrl } from '../harness/upstream.js';

// The dashboard's routes API shows each target of a balancing upstream as the sender sees it:
// down by health checks, ejected by outlier detection, circuit open; every target is a real server.
const TOKEN = 'dashboard-targets-token-0123456789';

interface TargetView { target: string; state: string; inFlight: number; ejections: number; ejectedUntil: string | null; lastCheck: { at: string; ok: boolean } | null }

async function server(status: number): Promise<{ url: string; close(): Promise<void> }> {
  const s = http.createServer((_req, res) => res.writeHead(status).end());
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, close: () => new Promise((r) => { s.closeAllConnections(); s.close(() => r()); }) };
}

async function targets(gw: TestGateway, route: string): Promise<TargetView[] | null> {
  const r = await rawRequest(gw.adminUrl, 'GET', '/dashboard/api/routes', { authorization: `Bearer ${TOKEN}` });
  assert.equal(r.status, 200);
  const found = r.json<{ routes: { name: string; upstream: { targets: TargetView[] | null } }[] }>().routes.find((x) => x.name === route)!;
  return found.upstream.targets;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

test('each target of a balancing upstream: down, ejected, circuit open or up; a one-origin upstream has none', async () => {
  const [live, sick, sick2] = await Promise.all([server(200), server(503), server(503)]);
  const dead = refusingUrl();
  // The breaker is kept out of the ejection route and ejection out of the breaker route.
  const noBreaker = { failures: 1000, window: '1m', cooldown: '1m' };
  const gw = await startGateway({
    admin: { dashboard: { token: TOKEN } },
    routes: [
      { name: 'checked', match: { path: '/checked/*' }, public: true, upstream: { url: live.url, targets: [live.url, dead], healthCheck: { path: '/', interval: '20ms', timeout: '1s', unhealthyThreshold: 1 } } },
      { name: 'ejecting', match: { path: '/ejecting/*' }, public: true, upstream: { url: live.url, targets: [sick.url, live.url], outlierDetection: { consecutiveFailures: 2, ejection: '1m' }, circuitBreaker: noBreaker } },
      { name: 'breaking', match: { path: '/breaking/*' }, public: true, upstream: { url: live.url, targets: [sick2.url, live.url], outlierDetection: { consecutiveFailures: 1000 }, circuitBreaker: { failures: 2, window: '1m', cooldown: '1m' } } },
      { name: 'single', match: { path: '/single/*' }, public: true, upstream: { url: live.url } },
    ],
  });
  try {
    assert.equal(await targets(gw, 'single'), null);
    const checked = await until('the dead target to be marked down', async () => {
      const t = await targets(gw, 'checked');
      return t?.[1]?.state === 'down' && t[0]?.lastCheck !== null ? t : undefined;
    });
    assert.deepEqual(checked.map((t) => [t.target, t.state, t.lastCheck?.ok]), [[live.url, 'up', true], [dead, 'down', false]]);

    // Before any traffic every target of the passive routes is up, with no checks.
    assert.deepEqual((await targets(gw, 'ejecting'))!.map((t) => [t.state, t.ejections, t.ejectedUntil, t.lastCheck]), [['up', 0, null, null], ['up', 0, null, null]]);
    for (let i = 0; i < 6; i++) await rawRequest(gw.url, 'GET', '/ejecting/x');
    for (let i = 0; i < 6; i++) await rawRequest(gw.url, 'GET', '/breaking/x');
    const [ejected, healthy] = (await targets(gw, 'ejecting'))!;
    assert.equal(ejected!.target, sick.url);
    assert.equal(ejected!.state, 'ejected');
    assert.equal(ejected!.ejections, 1);
    assert.ok(Date.parse(ejected!.ejectedUntil!) > Date.now() + 30_000, ejected!.ejectedUntil!);
    assert.equal(healthy!.state, 'up');
    assert.deepEqual((await targets(gw, 'breaking'))!.map((t) => [t.target, t.state]), [[sick2.url, 'circuit_open'], [live.url, 'up']]);
  } finally {
    await gw.stop();
    await Promise.all([live.close(), sick.close(), sick2.close()]);
  }
});
