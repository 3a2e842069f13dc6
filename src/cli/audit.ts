import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { JSONWebKeySet } from 'jose';
import { verifyAuditFiles } from '../audit/verify.js';
import { reportError } from './common.js';

const USAGE = `Usage: gatehouse audit verify [--jwks FILE|URL] [--json] FILE...

Checks tamper-evident audit files (audit.integrity), oldest first: every record's hash, the chain
of each writer, and each checkpoint's signature against the gateway's JWKS (its
/.well-known/jwks.json, saved or fetched). Exits 0 when every chain is whole and sealed, 1 when a
record was modified, inserted, deleted or reordered, a checkpoint does not verify, or a tail is
missing; 2 on a usage error. See docs/audit.md.
`;

async function readJwks(where: string): Promise<JSONWebKeySet> {
  if (/^https?:\/\//.test(where)) {
    const res = await fetch(where, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`${where} answered ${res.status}`);
    return (await res.json()) as JSONWebKeySet;
  }
  return JSON.parse(readFileSync(where, 'utf8')) as JSONWebKeySet;
}

async function verify(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { jwks: { type: 'string' }, json: { type: 'boolean' } } });
  } catch (err) {
    process.stderr.write(`gatehouse audit verify: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (positionals.length === 0) {
    process.stderr.write(USAGE);
    return 2;
  }
  try {
    const jwks = values.jwks === undefined ? undefined : await readJwks(values.jwks);
    const report = await verifyAuditFiles(positionals, jwks);
    if (values.json === true) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      for (const p of report.problems) process.stdout.write(`${p.line > 0 ? `${p.file}:${p.line}` : 'end of files'}: ${p.kind}: ${p.message}\n`);
      const chains = Object.entries(report.chains).map(([id, c]) => `${id} (seq ${c.firstSeq}–${c.lastSeq}, ${c.checkpoints} checkpoints${c.sealed ? ', sealed' : ''})`);
      process.stdout.write(`${report.ok ? 'OK' : 'FAILED'}: ${report.records} records in ${positionals.length} file(s); chains: ${chains.join(', ') || 'none'}\n`);
      if (!report.signatures) process.stdout.write('checkpoint signatures were not checked: give --jwks with the gateway\'s JWKS\n');
    }
    return report.ok ? 0 : 1;
  } catch (err) {
    return reportError(err);
  }
}

/** `gatehouse audit verify …`. */
export async function auditCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'verify') return verify(rest);
  process.stderr.write(USAGE);
  return sub === '-h' || sub === '--help' ? 0 : 2;
}
