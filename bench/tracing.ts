// The cost of tracing per request, in one run: four gateways (compiled, one process each) with the
// same API-key route to the same upstream — tracing off, on with nothing sampled (ratio 0), and on
// with every request sampled and exported over OTLP/HTTP, as protobuf (the default) and as JSON, to
// a receiver in this process (which decodes each export, as a collector would). Besides req/s (which
// the receiver's decoding, on the same cores, also pulls down) it reports each gateway's own CPU time
// per request, the cost tracing adds to the gateway.
// Usage: npm run bench:tracing   (knobs: BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS)
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchFile, cpuSeconds, GATEWAY_READY, measureLoad, median, startChild, stopChildren } from './lib.js';
import { startOtlpReceiver } from '../test/harness/otlp-receiver.js';
import { formatApiKeyHash, generateApiKey } from '../src/authn/apikey/format.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-tracing-'));
const receiver = await startOtlpReceiver();
const [, upstreamPort] = (await startChild([benchFile('./upstream.mjs')], /^(\d+)\n/)) as RegExpMatchArray;
const { id, key } = generateApiKey();
writeFileSync(join(dir, 'keys.yaml'), `keys:\n  - ${JSON.stringify({ id, name: 'bench', roles: ['reader'], hash: formatApiKeyHash(key) })}\n`);

const MODES: Record<string, { label: string; tracing?: Record<string, unknown> }> = {
  off: { label: 'tracing off (baseline)' },
  unsampled: { label: 'tracing on, ratio 0 (nothing sampled)', tracing: { endpoint: receiver.url, ratio: 0 } },
  sampled: { label: 'tracing on, every request sampled and exported (protobuf)', tracing: { endpoint: receiver.url, ratio: 1 } },
  sampledJson: { label: 'tracing on, every request sampled and exported (JSON)', tracing: { endpoint: receiver.url, ratio: 1, protocol: 'http/json' } },
};

try {
  const ports: Record<string, string> = {};
  const pids: Record<string, number> = {};
  for (const [mode, m] of Object.entries(MODES)) {
    const file = join(dir, `${mode}.json`);
    writeFileSync(file, JSON.stringify({
      listen: { port: 0, host: '127.0.0.1' }, admin: { port: 0 },
      audit: { sink: 'file', path: join(dir, `${mode}-audit.log`) },
      providers: { partners: { type: 'api-key', keys: join(dir, 'keys.yaml') } },
      ...(m.tracing ? { tracing: m.tracing } : {}),
      routes: [{ name: 'read', match: { path: '/x/*' }, authenticate: ['partners'], allow: [{ roles: ['reader'] }], upstream: { url: `http://127.0.0.1:${upstreamPort}` } }],
    }));
    const ready = await startChild([benchFile('../bin/gatehouse.js'), 'start', '-c', file], GATEWAY_READY);
    pids[mode] = ready.pid;
    ports[mode] = ready[1]!;
  }
  const cpuPerRequest = new Map<string, number[]>();
  const measure = async (mode: string): Promise<number> => {
    const c0 = cpuSeconds([pids[mode]!]);
    const rps = await measureLoad({ url: `http://127.0.0.1:${ports[mode]}/x/1`, seconds: SECONDS, connections: CONNECTIONS, headers: { 'x-api-key': key } });
    const c1 = cpuSeconds([pids[mode]!]);
    if (c0 !== undefined && c1 !== undefined) cpuPerRequest.get(mode)?.push(((c1 - c0) * 1e6) / (rps * SECONDS));
    return rps;
  };
  const ids = Object.keys(MODES);
  const results = new Map<string, number[]>(ids.map((m) => [m, []]));
  for (const m of ids) await measure(m); // warm-up
  for (const m of ids) cpuPerRequest.set(m, []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < ids.length; k++) {
      const m = ids[(round + k) % ids.length]!;
      results.get(m)!.push(await measure(m));
    }
  }
  if (receiver.spans.length === 0) throw new Error('the sampled gateway exported no spans');
  console.log(`\n${ROUNDS} rounds (order rotated) of ${SECONDS} s (+1 s warm-up), ${CONNECTIONS} keep-alive connections; gateways, upstream, receiver`);
  console.log(`and load generator share this machine's cores. Spans received: ${receiver.spans.length}.\n`);
  console.log('| tracing | req/s (median) | ratio to off | gateway CPU µs/req (median) | CPU ratio to off |\n|---|--:|--:|--:|--:|');
  const off = median(results.get('off')!);
  const offCpu = median(cpuPerRequest.get('off')!);
  for (const m of ids) {
    const cpu = median(cpuPerRequest.get(m)!);
    console.log(`| ${MODES[m]!.label} | ${median(results.get(m)!).toFixed(0)} | ${(median(results.get(m)!) / off).toFixed(2)} | ${cpu.toFixed(0)} | ${(cpu / offCpu).toFixed(2)} |`);
  }
} finally {
  stopChildren();
  await receiver.close();
}
