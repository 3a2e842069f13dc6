// Per-round table from a harness results.jsonl (the last attempt of each candidate and round): node table.mjs results.jsonl
import { readFileSync } from 'node:fs';
const rows = readFileSync(process.argv[2], 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const last = new Map();
for (const r of rows) last.set(`${r.name}|${r.round}`, r);
const by = new Map();
for (const r of last.values()) {
  const secs = r.elapsed_ns / 1e9;
  const core = r.proxy_ticks ? r.wrk.rps / (r.proxy_ticks / 100 / secs) : null;
  const other = r.foreign_ticks / secs; // % of a core (ticks at 100 Hz)
  (by.get(r.name) ?? by.set(r.name, []).get(r.name)).push({ round: r.round, rps: r.wrk.rps, core, p50: r.wrk.p50_us / 1000, p99: r.wrk.p99_us / 1000, other, cpuus: r.proxy_ticks ? (r.proxy_ticks * 1e4) / r.wrk.requests : null });
}
const med = (a) => { const s = [...a].sort((x, y) => x - y); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const ha = by.get('haproxy-jwt-rs256');
console.log('| candidate | rounds: per core ÷ HAProxy | per core (median) | ÷ HAProxy | CPU µs/req | p50 ms | p99 ms | p99 ÷ p50 | p99 ÷ HAProxy p99 | other CPU % per round |');
console.log('|---|---|--:|--:|--:|--:|--:|--:|--:|---|');
for (const [name, rs] of by) {
  if (name === 'direct') continue;
  rs.sort((a, b) => a.round - b.round);
  const perRound = rs.map((r) => { const h = ha.find((x) => x.round === r.round); return (r.core / h.core).toFixed(2); }).join(' / ');
  const core = med(rs.map((r) => r.core)); const hcore = med(ha.map((r) => r.core));
  const p50 = med(rs.map((r) => r.p50)); const p99 = med(rs.map((r) => r.p99)); const hp99 = med(ha.map((r) => r.p99));
  const ratio = med(rs.map((r) => r.p99 / r.p50));
  console.log(`| ${name} | ${perRound} | ${Math.round(core).toLocaleString('en')} | ${(core / hcore).toFixed(2)} | ${Math.round(med(rs.map((r) => r.cpuus)))} | ${p50.toFixed(2)} | ${p99.toFixed(2)} | ${ratio.toFixed(1)} | ${(p99 / hp99).toFixed(1)} | ${rs.map((r) => r.other.toFixed(0)).join(' / ')} |`);
}
