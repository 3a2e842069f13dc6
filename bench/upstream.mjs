// The benchmark upstream, in its own process: answers 200 "ok" to everything (like nginx `return 200`), except a
// path ending in /bytes/<n> (e.g. GET /public/bytes/1073741824), which streams n bytes in 64 KiB chunks and
// waits for 'drain' whenever the socket's buffer is full, so a slow reader slows it down instead of filling memory.
// Prints its port on stdout. env: PORT (default 0: any free port).
import http from 'node:http';

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

const server = http.createServer((req, res) => {
  const bytes = BYTES.exec(req.url);
  if (bytes) stream(res, Number(bytes[1]));
  else res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 }).end('ok');
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
