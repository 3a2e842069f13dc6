// Serves one JWKS file over HTTP on 127.0.0.1 (any path answers with it), for benchmark configs whose
// provider fetches keys from `jwksUri`. Prints the chosen port on stdout, then keeps serving.
//   node bench/jwks-server.mjs JWKS_FILE [PORT]
// Exits on SIGTERM/SIGINT, and by itself as soon as its parent process is gone (candidate.sh starts it
// and then execs the gateway, which becomes its parent: when the gateway exits, this exits too).
import http from 'node:http';
import { readFileSync } from 'node:fs';

const [file, port = '0'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node jwks-server.mjs JWKS_FILE [PORT]\n');
  process.exit(2);
}
const body = readFileSync(file);
JSON.parse(body.toString('utf8')); // fail early on a broken file
const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length, 'cache-control': 'no-store' }).end(body);
});
server.listen(Number(port), '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
const stop = () => server.close(() => process.exit(0));
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, stop);
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) process.exit(0); }, 250).unref();
