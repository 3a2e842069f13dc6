// Bytes allocated per request by function, from a bench/heap-sample.mjs profile.
// Usage: node bench/heap-top.mjs /tmp/heap-<pid>.json REQUESTS [--top 35]
// REQUESTS: requests served while sampling (e.g. the audit file's line count).
import { readFileSync } from 'node:fs';

const [file, requests] = process.argv.slice(2);
const top = Number(process.argv[process.argv.indexOf('--top') + 1] || 35);
if (!file || !(Number(requests) > 0)) {
  console.error('usage: node bench/heap-top.mjs PROFILE.json REQUESTS [--top N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const self = new Map();
let total = 0;
const stack = [profile.head];
while (stack.length) {
  const node = stack.pop();
  const f = node.callFrame;
  const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/.*\/(dist|src|node_modules)\//, '$1/')}:${f.lineNumber}`;
  total += node.selfSize;
  if (node.selfSize) self.set(name, (self.get(name) ?? 0) + node.selfSize);
  stack.push(...node.children);
}
console.log(`bytes allocated per request: ${(total / requests).toFixed(0)}`);
for (const [name, bytes] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(bytes / requests).toFixed(0).padStart(8)}  ${name}`);
