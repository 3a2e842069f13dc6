// The benchmark upstream, in its own process: answers 200 "ok" to everything (like nginx `return 200`), except a
// path ending in /bytes/<n> (e.g. GET /public/bytes/1073741824), which streams n bytes in 64 KiB chunks and
// waits for 'drain' whenever the socket's buffer is full, so a slow reader slows it down instead of filling memory.
// Prints its port on stdout. env: PORT (default 0: any free port); TLS_CERT, TLS_KEY, TLS_CA (files): serve HTTPS
// instead, asking for a client certificate (verified against TLS_CA when one is sent, none required).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

const CHUNK = Buffer.alloc(64 * 1024, 'x');
const BYTES = /\/bytes\/(\d+)(?:\?|$)/;

function stream(res, n) {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n });
  let left = n;
  const pump = () => {
    while (left > 0) {
      const k = Math.min(left, CHUNK.length);
      left -= k;
      if (!res.write(k === CHUNK.length ? CHUNK : CHUNK.subarray(0, k))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

const env = process.env;
const tls = env.TLS_CERT
  ? { cert: readFileSync(env.TLS_CERT), key: readFileSync(env.TLS_KEY), ca: readFileSync(env.TLS_CA), requestCert: true, rejectUnauthorized: false }
  : undefined;
const server = (tls ? https.createServer.bind(null, tls) : http.createServer)((req, res) => {
  const bytes = BYTES.exec(req.url);
  if (bytes) stream(res, Number(bytes[1]));
  else res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 }).end('ok');
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
