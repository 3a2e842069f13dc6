/**
 * A real gateway with the dashboard on its admin port: a dev issuer, a public and a protected route to a
 * real upstream, and a public route balancing over that upstream and a dead address.
 */
import { startGateway, type TestGateway } from './gateway.js';
import { refusingUrl, startUpstream, type TestUpstream } from './upstream.js';

export const DASHBOARD_TOKEN = 'dashboard-test-token-0123456789';

export interface DashboardFixture {
  readonly gw: TestGateway;
  readonly upstream: TestUpstream;
  /** Development-issuer tokens: `reader` (allowed on /orders), `writer` (no allow rule matches), `mallory` (denied by name). */
  readonly tokens: Record<'reader' | 'writer' | 'mallory', string>;
  stop(): Promise<void>;
}

/** Start the fixture: upstream, gateway, and a token per kind of caller. */
export async function startDashboardGateway(): Promise<DashboardFixture> {
  const upstream = await startUpstream();
  // Route `replicas` balances over the upstream and an address nothing listens on, which its health checks mark down.
  const dead = refusingUrl();
  const gw = await startGateway({
    dev: true,
    admin: { dashboard: { token: DASHBOARD_TOKEN } },
    routes: [
      { name: 'open', match: { path: '/public/*' }, public: true, upstream: { url: upstream.url } },
      {
        name: 'orders', match: { path: '/orders/*' }, authenticate: ['dev'],
        allow: [{ name: 'readers', roles: ['reader'] }], deny: [{ name: 'no-mallory', subject: 'mallory' }],
        limits: [{ name: 'per-subject', key: ['subject'], rate: '100/s', burst: 100 }],
        upstream: { url: upstream.url },
      },
      {
        name: 'replicas', match: { path: '/replicas/*' }, public: true,
        upstream: { url: upstream.url, targets: [upstream.url, dead], healthCheck: { path: '/', interval: '50ms', timeout: '1s', unhealthyThreshold: 1 } },
      },
    ],
  });
  const dev = gw.gateway.ref.current.devIssuer!;
  const tokens = {
    reader: await dev.sign({ sub: 'alice', roles: ['reader'] }),
    writer: await dev.sign({ sub: 'bob', roles: ['writer'] }),
    mallory: await dev.sign({ sub: 'mallory', roles: ['reader'] }),
  };
  return { gw, upstream, tokens, async stop() { await gw.stop(); await upstream.close(); } };
}

/** Send a request to the public port: allowed, 401 (no token) or 403 (a token the rules refuse). */
export async function traffic(f: DashboardFixture, kind: 'public' | 'allowed' | 'unauthenticated' | 'forbidden' | 'denied', n = 1): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const headers: Record<string, string> = {};
    if (kind === 'allowed') headers.authorization = `Bearer ${f.tokens.reader}`;
    if (kind === 'forbidden') headers.authorization = `Bearer ${f.tokens.writer}`;
    if (kind === 'denied') headers.authorization = `Bearer ${f.tokens.mallory}`;
    const res = await fetch(`${f.gw.url}${kind === 'public' ? '/public/x' : '/orders/1'}`, { headers });
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  return statuses;
}
