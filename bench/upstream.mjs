// The benchmark upstream: answers 200 "ok" to everything (like nginx `return 200`), in its own process.
import http from 'node:http';

const server = http.createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 }).end('ok'); });
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
