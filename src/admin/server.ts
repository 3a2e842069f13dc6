import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RuntimeRef } from '../gateway.js';
import type { Metrics } from '../observe/metrics.js';

export interface AdminServer { readonly server: Server; readonly port: number; setDraining(): void; close(): Promise<void> }

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) }).end(text);
}

/** Admin listener: `/healthz` (alive), `/readyz` (config loaded and every provider has keys), `/metrics`, JWKS. */
export async function startAdmin(host: string, port: number, ref: RuntimeRef, metrics?: Metrics): Promise<AdminServer> {
  let draining = false;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const r = ref.current.readiness();
      const ready = r.ready && !draining;
      return json(res, ready ? 200 : 503, { status: ready ? 'ready' : draining ? 'draining' : 'not_ready', providers: r.providers });
    }
    if (path === '/.well-known/jwks.json') return json(res, 200, ref.current.signer.jwks);
    if (path === '/metrics' && metrics) {
      void metrics.registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' }).end(text);
      });
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
