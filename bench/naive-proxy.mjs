// Reference point: the simplest node:http + undici proxy (no routing, no auth, no audit). Its forwarding path is
// the shared harness's `node-baseline-plain` (its candidates/node-baseline.mjs --no-jwt; see bench/README.md): an undici
// Pool (128 connections), hop-by-hop headers dropped both ways, the response streamed with pool.stream (so it
// respects backpressure). Used by bench/run.ts (scenario `naive`) and bench/quick.ts.
// env: UPSTREAM_URL (required), PORT (default 0: any free port). Prints its port on stdout.
import http from 'node:http';
import { Pool } from 'undici';

const pool = new Pool(process.env.UPSTREAM_URL, { connections: 128, pipelining: 1 });
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);
const strip = (h) => {
  const o = {};
  for (const k in h) if (!HOP.has(k)) o[k] = h[k];
  return o;
};
const reply = (res, status) => res.writeHead(status, { 'content-length': '0' }).end();

const server = http.createServer((req, res) => {
  const body = req.method === 'GET' || req.method === 'HEAD' ? null : req;
  pool.stream({ path: req.url, method: req.method, headers: strip(req.headers), body },
    ({ statusCode, headers }) => { res.writeHead(statusCode, strip(headers)); return res; },
    (err) => { if (err) { if (!res.headersSent) reply(res, 502); else res.destroy(err); } });
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => process.exit(0));
