// Compile time and heap of a large route table: N routes (default 10,000) with the same provider,
// policy and upstream, compiled once. Usage: node --expose-gc --import tsx bench/routes-memory.ts [N]
import { compileRuntime } from '../src/pipeline/runtime.js';
import { loadConfigText } from '../src/config/load.js';
const n = Number(process.argv[2] ?? 10000);
const routes = Array.from({ length: n }, (_, i) => `  - name: r${i}\n    match: { path: /svc${i}/*, methods: [GET] }\n    authenticate: [bench]\n    allow: [ { roles: [reader] } ]\n    upstream: { url: "http://127.0.0.1:18080" }\n`).join('');
const text = `providers:\n  bench:\n    type: oidc\n    issuer: https://i\n    jwksUri: http://127.0.0.1:9/jwks\n    audience: a\nroutes:\n${routes}`;
const loaded = loadConfigText(text, '/tmp/x.yaml', {});
(globalThis as { gc?: () => void }).gc?.();
const before = process.memoryUsage().heapUsed;
const t0 = performance.now();
const rt = await compileRuntime(loaded.config, { baseDir: '/tmp' });
const t1 = performance.now();
(globalThis as { gc?: () => void }).gc?.();
const after = process.memoryUsage().heapUsed;
console.log(`${n} routes: compile ${(t1 - t0).toFixed(0)} ms, heap +${((after - before) / 1e6).toFixed(1)} MB (${((after - before) / n).toFixed(0)} B/route), rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
void rt;
process.exit(0);
