// The upstream for bench/http2.ts: the same small answer over HTTP/1.1 and over h2c (prior
// knowledge) on two ports; prints "<http1 port> <h2c port>".
import http from 'node:http';
import http2 from 'node:http2';

const BODY = Buffer.from(JSON.stringify({ ok: true, pad: 'x'.repeat(200) }));
const answer = (_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length }).end(BODY);
const h1 = http.createServer({ keepAliveTimeout: 30_000 }, answer);
const h2 = http2.createServer({ settings: { maxConcurrentStreams: 1000 } }, answer);
await Promise.all([h1, h2].map((s) => new Promise((resolve) => s.listen(0, '127.0.0.1', resolve))));
process.stdout.write(`${h1.address().port} ${h2.address().port}\n`);
