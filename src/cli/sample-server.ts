import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The quick start's upstream: answers with what it received (method, path, identity headers). */
export async function startSampleUpstream(port: number, host = '127.0.0.1'): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => { bytes += chunk.length; });
    req.on('end', () => {
      const identity: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (name.startsWith('x-gatehouse-') && name !== 'x-gatehouse-assertion' && typeof value === 'string') identity[name] = value;
      }
      const body = JSON.stringify({
        upstream: 'gatehouse sample upstream',
        method: req.method, path: req.url, bodyBytes: bytes, identity,
        assertion: req.headers['x-gatehouse-assertion'] ? 'present (verify it with the gateway JWKS at /.well-known/jwks.json)' : 'absent',
        forwardedFor: req.headers['x-forwarded-for'] ?? null,
      }, null, 2);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body + '');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
