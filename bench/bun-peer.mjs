// Bare Bun proxies for the shared harness (measurement only, no auth): what the Bun runtime itself
// reaches, beside node-baseline-plain (node:http + undici on Node). Run with bun:
//   bun bench/bun-peer.mjs serve      Bun.serve + fetch (Bun's own server and client: the fast path)
//   bun bench/bun-peer.mjs node-http  node:http on Bun + the real undici Pool (what Gatehouse on Bun runs)
// env (from the harness): PORT UPSTREAM_URL.
/* global Bun, Headers, fetch, Response */
import http from 'node:http';

const { PORT, UPSTREAM_URL } = process.env;
const mode = process.argv[2] ?? 'serve';
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);
const strip = (h) => { const o = {}; for (const k in h) if (!HOP.has(k)) o[k] = h[k]; return o; };

if (mode === 'serve') {
  const origin = new URL(UPSTREAM_URL).origin;
  Bun.serve({
    port: Number(PORT), hostname: '127.0.0.1',
    async fetch(req) {
      const url = new URL(req.url);
      const headers = new Headers(req.headers);
      headers.delete('host');
      const res = await fetch(origin + url.pathname + url.search, { method: req.method, headers, body: req.body, redirect: 'manual' });
      return new Response(res.body, { status: res.status, headers: res.headers });
    },
  });
} else if (mode === 'node-http') {
  // By file: Bun answers the bare 'undici' with a stub (see src/upstream/http/undici.ts).
  const { Pool } = await import('undici/index.js');
  const pool = new Pool(UPSTREAM_URL, { connections: 128, pipelining: 1 });
  http.createServer((req, res) => {
    const body = req.method === 'GET' || req.method === 'HEAD' ? null : req;
    pool.stream({ path: req.url, method: req.method, headers: strip(req.headers), body },
      ({ statusCode, headers }) => { res.writeHead(statusCode, strip(headers)); return res; },
      (err) => { if (err) { if (!res.headersSent) { res.writeHead(502, { 'content-length': '0' }); res.end(); } else res.destroy(err); } });
  }).listen(Number(PORT), '127.0.0.1');
} else {
  console.error('bun-peer.mjs: mode must be serve or node-http');
  process.exit(2);
}
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => process.exit(0));
