/**
 * A gateway started by the CLI (so SIGTERM is the real signal path) in front of an upstream that
 * answers `/slow` after 1.5 s: the shutdown tests send a request, wait until it reached the upstream,
 * then signal the gateway.
 */
import { spawnCli } from './run-cli.js';
import { startUpstream } from './upstream.js';
import { writeConfig } from './gateway.js';

export const SLOW_BODY = 'slow but complete';

/** `listen`: added to the listener's settings (port 0 on 127.0.0.1, shutdownGrace 10 s). Other paths are answered at once. */
export async function startSlowGateway(listen: Record<string, unknown> = {}) {
  let arrived!: () => void;
  const requestArrived = new Promise<void>((r) => { arrived = r; });
  const upstream = await startUpstream((req, res) => {
    if (req.url !== '/slow') return void res.end('quick');
    arrived();
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end(SLOW_BODY), 1500);
  });
  const file = writeConfig(JSON.stringify({
    listen: { port: 0, host: '127.0.0.1', shutdownGrace: '10s', ...listen },
    admin: { port: 0 },
    audit: { sink: 'off' },
    routes: [{ name: 'slow', match: { path: '/*' }, public: true, upstream: { url: upstream.url } }],
  }));
  const gw = await spawnCli(['start', '-c', file], /"port":(\d+),"admin":(\d+)[^\n]*gatehouse listening/);
  return {
    gw,
    base: `http://127.0.0.1:${gw.match[1]}`,
    requestArrived,
    async close(): Promise<void> {
      gw.child.kill('SIGKILL');
      await upstream.close();
    },
  };
}
