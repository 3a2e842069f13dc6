// Aggregates a V8 .cpuprofile (node --cpu-prof) into markdown tables:
//   1. self time by function (name + file:line), 2. self time by module/package,
//   3. inclusive (total) time by function: time with the function anywhere on the stack.
//   node bench/cpuprofile-top.mjs FILE.cpuprofile [--top 30] [--root /work/main]
// Time per sample is taken from timeDeltas (the sampling interval actually observed), so the figures are
// milliseconds of CPU profile time; percentages are of all samples, `(idle)` included.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a));
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
if (!file) {
  console.error('usage: node bench/cpuprofile-top.mjs FILE.cpuprofile [--top 30] [--root DIR]');
  process.exit(2);
}
const TOP = Number(opt('top', '30'));
const ROOT = opt('root', process.cwd());
const profile = JSON.parse(readFileSync(file, 'utf8'));

const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

/** Short location: node:internal/..., <pkg>/file for node_modules, repo-relative path otherwise. */
function where(url) {
  if (!url) return '';
  let u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) return u.slice(nm + '/node_modules/'.length);
  if (u.startsWith(ROOT + '/')) u = u.slice(ROOT.length + 1);
  return u;
}
/** Module group: a package name, a node core area, our own top-level folder, or a V8 pseudo-node. */
function group(cf) {
  const url = cf.url;
  if (!url) return cf.functionName.startsWith('(') ? cf.functionName : '(native / V8 builtins)';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = u.slice(nm + '/node_modules/'.length).split('/');
    return `npm:${rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (u.startsWith('node:')) {
    const m = /^node:(?:internal\/)?([^/]+)/.exec(u);
    return `node:${m ? m[1].replace(/\.js$/, '') : u}`;
  }
  const rel = u.startsWith(ROOT + '/') ? u.slice(ROOT.length + 1) : u;
  const parts = rel.split('/');
  if (parts[0] === 'dist' || parts[0] === 'src') return `gatehouse:${parts.length > 2 ? `${parts[1]}/` : parts[1]}`;
  return `gatehouse:${rel}`;
}
const label = (cf) => `${cf.functionName || '(anonymous)'} ${cf.url ? `${where(cf.url)}:${cf.lineNumber + 1}` : ''}`.trim();

const self = new Map();
const byGroup = new Map();
const inclusive = new Map();
let total = 0;
const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
const { samples, timeDeltas } = profile;
for (let i = 0; i < samples.length; i++) {
  // timeDeltas[i] is the time since the previous sample; attribute the *next* delta to this sample.
  const dt = (timeDeltas[i + 1] ?? timeDeltas[i] ?? 0) / 1000;
  total += dt;
  const leaf = nodes.get(samples[i]);
  add(self, label(leaf.callFrame), dt);
  add(byGroup, group(leaf.callFrame), dt);
  const seen = new Set();
  for (let id = samples[i]; id !== undefined; id = parent.get(id)) {
    const l = label(nodes.get(id).callFrame);
    if (l === '(root)' || seen.has(l)) continue;
    seen.add(l);
    add(inclusive, l, dt);
  }
}

const idle = self.get('(idle)') ?? 0;
const busy = total - idle;
const pct = (v, of) => `${((100 * v) / of).toFixed(1)}%`;
const table = (title, m, n, note) => {
  console.log(`\n### ${title}\n`);
  if (note) console.log(`${note}\n`);
  console.log('| # | function / group | ms | % of busy |\n|--:|---|--:|--:|');
  [...m].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, n)
    .forEach(([k, v], i) => console.log(`| ${i + 1} | \`${k}\` | ${v.toFixed(0)} | ${pct(v, busy)} |`));
};
console.log(`Profile ${file}: ${(total / 1000).toFixed(1)} s sampled, ${samples.length} samples, ` +
  `busy ${(busy / 1000).toFixed(1)} s (${pct(busy, total)}), idle ${(idle / 1000).toFixed(1)} s.`);
table('Self time by module group', byGroup, TOP);
table('Self time by function', self, TOP);
table('Inclusive time by function', inclusive, TOP, 'Time with the function anywhere on the stack (each function counted once per sample).');
