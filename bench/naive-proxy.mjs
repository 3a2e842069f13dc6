// Reference point: the simplest node:http + undici proxy (no routing, no auth, no audit).
import http from 'node:http';
import { Pool } from 'undici';

const pool = new Pool(process.env.UPSTREAM_URL, { connections: 128 });
const server = http.createServer(async (req, res) => {
  try {
    const { statusCode, headers, body } = await pool.request({ path: req.url, method: req.method, headers: { host: 'upstream' }, body: req.method === 'GET' ? null : req });
    delete headers.connection;
    delete headers['keep-alive'];
    res.writeHead(statusCode, headers);
    for await (const chunk of body) res.write(chunk);
    res.end();
  } catch {
    res.writeHead(502).end();
  }
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
