// Aggregates a V8 .cpuprofile (node --cpu-prof) into markdown tables:
//   1. self time by function (name + file:line), 2. self time by module/package,
//   3. inclusive (total) time by module group and 4. by function: time with it anywhere on the stack;
//   5. with --match REGEX: inclusive time of the functions whose label matches (e.g. 'decide|verify');
//   6. with --under REGEX: for samples below the outermost frame matching REGEX, the time split by the
//      frame directly called from it (what that function spends its time on).
//   node bench/cpuprofile-top.mjs FILE.cpuprofile [--top 30] [--root DIR (default: the current directory)] [--match REGEX] [--under REGEX] [--requests N]
// --requests N (requests served while profiling) adds a µs-per-request column.
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
const MATCH = opt('match', undefined);
const UNDER = opt('under', undefined);
const underRe = UNDER ? new RegExp(UNDER) : undefined;
const under = new Map();
const REQUESTS = Number(opt('requests', '0'));
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
const inclusiveGroup = new Map();
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
  if (underRe) {
    // stack from leaf to root; find the outermost (closest to root) match, report its callee
    const stack = [];
    for (let id = samples[i]; id !== undefined; id = parent.get(id)) stack.push(label(nodes.get(id).callFrame));
    for (let k = stack.length - 1; k >= 0; k--) {
      if (underRe.test(stack[k])) {
        add(under, k === 0 ? `(self) ${stack[k]}` : stack[k - 1], dt);
        break;
      }
    }
  }
  const seen = new Set();
  const seenGroups = new Set();
  for (let id = samples[i]; id !== undefined; id = parent.get(id)) {
    const cf = nodes.get(id).callFrame;
    const l = label(cf);
    if (l === '(root)') continue;
    const g = group(cf);
    if (!seenGroups.has(g)) {
      seenGroups.add(g);
      add(inclusiveGroup, g, dt);
    }
    if (seen.has(l)) continue;
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
  const us = REQUESTS > 0;
  console.log(`| # | function / group | ms | % of busy |${us ? ' µs/req |' : ''}\n|--:|---|--:|--:|${us ? '--:|' : ''}`);
  [...m].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, n)
    .forEach(([k, v], i) => console.log(`| ${i + 1} | \`${k}\` | ${v.toFixed(0)} | ${pct(v, busy)} |${us ? ` ${((v * 1000) / REQUESTS).toFixed(1)} |` : ''}`));
};
console.log(`Profile ${file}: ${(total / 1000).toFixed(1)} s sampled, ${samples.length} samples, ` +
  `busy ${(busy / 1000).toFixed(1)} s (${pct(busy, total)}), idle ${(idle / 1000).toFixed(1)} s.`);
table('Self time by module group', byGroup, TOP);
table('Self time by function', self, TOP);
table('Inclusive time by module group', inclusiveGroup, TOP, 'Time with any frame of the group on the stack (each group counted once per sample; groups overlap).');
table('Inclusive time by function', inclusive, TOP, 'Time with the function anywhere on the stack (each function counted once per sample).');
if (MATCH) {
  const re = new RegExp(MATCH);
  table(`Inclusive time of functions matching /${MATCH}/`, new Map([...inclusive].filter(([k]) => re.test(k))), TOP);
}
if (underRe) table(`Below the outermost frame matching /${UNDER}/, by callee`, under, TOP);
