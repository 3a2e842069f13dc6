import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RuntimeRef } from '../pipeline/gateway.js';
import type { Metrics } from '../observe/metrics.js';
import type { DashboardHandler } from './dashboard/handler.js';

export interface AdminServer { readonly server: Server; readonly port: number; setDraining(): void; close(): Promise<void> }

/** What the admin port reports on: this process's runtime, or (with `workers`) every cluster worker. */
export interface AdminSource {
  /** Ready or not, plus what the `/readyz` body shows (e.g. `providers`). Rejecting counts as not ready. */
  readiness(): Promise<{ ready: boolean; detail: Record<string, unknown> }>;
  /** The identity-assertion public keys (`/.well-known/jwks.json`). */
  jwks(): unknown;
  /** Prometheus text for `/metrics`; absent: 404. */
  metrics?(): Promise<{ contentType: string; text: string }>;
}

/** The admin source of a single-process gateway: its runtime (read through `ref`) and its registry. */
export function runtimeAdminSource(ref: RuntimeRef, metrics?: Metrics): AdminSource {
  return {
    readiness() {
      const r = ref.current.readiness();
      return Promise.resolve({ ready: r.ready, detail: { providers: r.providers } });
    },
    jwks: () => ref.current.signer.jwks,
    ...(metrics ? { metrics: async () => ({ contentType: metrics.registry.contentType, text: await metrics.registry.metrics() }) } : {}),
  };
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) }).end(text);
}

/**
 * Admin listener: `/healthz` (alive), `/readyz` (config loaded and every provider has keys), `/metrics`,
 * JWKS, and with `dashboard` the dashboard under `/dashboard`.
 */
export async function startAdmin(host: string, port: number, source: AdminSource, dashboard?: DashboardHandler): Promise<AdminServer> {
  let draining = false;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (dashboard && (path === '/dashboard' || path.startsWith('/dashboard/'))) return dashboard(req, res, path);
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      // Fail closed: a source that cannot answer is not ready.
      void source.readiness().catch((err: unknown) => ({ ready: false, detail: { error: err instanceof Error ? err.message : String(err) } })).then((r) => {
        const ready = r.ready && !draining;
        json(res, ready ? 200 : 503, { status: ready ? 'ready' : draining ? 'draining' : 'not_ready', ...r.detail });
      });
      return;
    }
    if (path === '/.well-known/jwks.json') return json(res, 200, source.jwks());
    if (path === '/metrics' && source.metrics) {
      void source.metrics().then(
        ({ contentType, text }) => { res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(text); },
        (err: unknown) => json(res, 503, { status: 'metrics_unavailable', error: err instanceof Error ? err.message : String(err) }),
      );
      return;
    }
    return json(res, 404, { status: 'not_found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    setDraining() { draining = true; },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
