import { parseArgs } from 'node:util';
import { startSampleUpstream } from './sample-server.js';
import { SAMPLE_UPSTREAM_PORT } from './common.js';

/** `gatehouse sample-upstream`: run the echo upstream alone (until SIGINT/SIGTERM). */
export async function sampleUpstreamCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { port: { type: 'string', default: String(SAMPLE_UPSTREAM_PORT) } } });
  const sample = await startSampleUpstream(Number(values.port));
  process.stderr.write(`sample upstream listening on http://127.0.0.1:${sample.port}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await sample.close();
  return 0;
}
