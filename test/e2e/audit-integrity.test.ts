import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, importPKCS8 } from 'jose';
import { runCli, spawnCli } from '../harness/run-cli.js';
import { lineHash, HASH_MARK } from '../../src/audit/chain.js';

// The tamper-evident audit file as an operator runs it: the real CLI writes it (`gatehouse start`,
// stopped and started again, rotated by renaming the file and sending SIGUSR2 as logrotate does),
// and `gatehouse audit verify` checks it. Then each way of tampering with a copy is tried and must be
// reported with a non-zero exit.

const READY = /"port":(\d+),"admin":(\d+)[^\n]*gatehouse listening/;
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-audit-integrity-'));
const auditFile = join(dir, 'audit.log');
const keyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
writeFileSync(join(dir, 'assertion.pem'), keyPem, { mode: 0o600 });
const configFile = join(dir, 'gatehouse.yaml');
writeFileSync(configFile, [
  'listen: { host: 127.0.0.1, port: 0 }',
  'admin: { host: 127.0.0.1, port: 0 }',
  `audit: { sink: file, path: ${JSON.stringify(auditFile)}, integrity: { checkpointEvery: 200ms } }`,
  `assertion: { privateKey: "\${file:${join(dir, 'assertion.pem')}}" }`,
  'routes:',
  '  - { name: open, match: { path: /x/* }, public: true, upstream: { url: "http://127.0.0.1:1" } }',
  '',
].join('\n'));
const jwksFile = join(dir, 'jwks.json');

async function traffic(port: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await (await fetch(`http://127.0.0.1:${port}/x/${i}?q=${i}`)).arrayBuffer();
}

/** Run the gateway: `during` gets its port; then SIGTERM, and the exit code. */
async function runOnce(during: (port: string, pid: number) => Promise<void>): Promise<void> {
  const gw = await spawnCli(['start', '-c', configFile], READY);
  try {
    const port = gw.match[1]!;
    writeFileSync(jwksFile, await (await fetch(`http://127.0.0.1:${port}/.well-known/jwks.json`)).text());
    await during(port, gw.child.pid!);
  } finally {
    gw.child.kill('SIGTERM');
    assert.equal(await gw.exited, 0, gw.stderr());
  }
}

const verify = (...files: string[]) => runCli(['audit', 'verify', '--jwks', jwksFile, ...files]);
const lines = (file: string): string[] => readFileSync(file, 'utf8').split('\n').slice(0, -1);
const write = (name: string, ls: string[], tail = '\n'): string => {
  const file = join(dir, name);
  writeFileSync(file, ls.join('\n') + tail);
  return file;
};
/** What an attacker who knows the format does: change a record and give it a matching hash. */
const rehash = (line: string, edit: (body: string) => string): string => {
  const body = edit(line.slice(0, line.lastIndexOf(HASH_MARK)));
  return `${body}${HASH_MARK}${lineHash(body)}"}`;
};

test('a hash-chained file across a restart and a logrotate rotation verifies; each kind of tampering is reported', async () => {
  const rotated = join(dir, 'audit.log.1');
  await runOnce(async (port) => {
    await traffic(port, 5);
    await new Promise((r) => setTimeout(r, 500)); // a periodic checkpoint
    await traffic(port, 5);
  });
  await runOnce(async (port, pid) => {
    await traffic(port, 4);
    await new Promise((r) => setTimeout(r, 400));
    renameSync(auditFile, rotated);
    process.kill(pid, 'SIGUSR2');
    await new Promise((r) => setTimeout(r, 200));
    await traffic(port, 4);
  });
  const before = lines(rotated);
  const after = lines(auditFile);
  assert.ok(before.length >= 14 && after.length >= 4, `${before.length} + ${after.length} lines`);
  assert.ok(before.some((l) => l.includes('"type":"audit_checkpoint"') && l.includes('"final":true')), 'the first run sealed its chain at shutdown');
  assert.ok(before.some((l) => l.includes('"type":"audit_checkpoint"') && l.includes('"final":false')), 'a periodic checkpoint');
  const first = JSON.parse(after[0]!) as { chain: { id: string; seq: number; prev: string } };
  const lastBefore = JSON.parse(before.at(-1)!) as { chain: { seq: number }; hash: string };
  assert.deepEqual([first.chain.id, first.chain.seq, first.chain.prev], ['main', lastBefore.chain.seq + 1, lastBefore.hash], 'the new file starts from the last hash of the old one');

  const clean = await verify(rotated, auditFile);
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.match(clean.stdout, /^OK: \d+ records in 2 file\(s\); chains: main \(seq 0–\d+, \d+ checkpoints, sealed\)/m);

  const all = [...before, ...after];
  const record = all.findIndex((l) => l.includes('"path":"/x/3"'));
  const cases: [string, string[], string, RegExp][] = [
    ['edited', all.map((l, i) => (i === record ? l.replace('"/x/3"', '"/x/4"') : l)), '\n', /:(\d+): modified: the record does not match its hash/],
    ['deleted', all.filter((_, i) => i !== record), '\n', /: deleted: seq \d+ of chain main is missing/],
    ['swapped', all.map((l, i) => (i === record ? all[record + 1]! : i === record + 1 ? all[record]! : l)), '\n', /: reordered: /],
    ['cut mid-line', [...all.slice(0, -1), all.at(-1)!.slice(0, 40)], '', /: truncated: the file ends in the middle of a record/],
    ['cut at a line', all.slice(0, -2), '\n', /end of files: unsealed: chain main ends with \d+ records after its last checkpoint/],
    // Rewriting a record and every hash after it: the next checkpoint's signed hash no longer matches.
    ['rewritten chain', rewriteFrom(all, record), '\n', /: checkpoint: the checkpoint names seq \d+ with a hash the chain did not have there/],
    ['forged checkpoint', await forgeCheckpoint(all), '\n', /: checkpoint: the checkpoint's signature does not verify/],
  ];
  for (const [name, tampered, tail, expected] of cases) {
    const res = await verify(write(`${name.replace(/\W/g, '-')}.log`, tampered, tail));
    assert.equal(res.code, 1, `${name}: ${res.stdout}`);
    assert.match(res.stdout, expected, name);
    assert.match(res.stdout, /^FAILED/m, name);
  }
  const edited = (await verify(write('edited.log', cases[0]![1]))).stdout;
  assert.equal(Number(/:(\d+): modified/.exec(edited)![1]), record + 1, 'the first modified record is named by its line');
  const missingEarlier = await verify(auditFile);
  assert.equal(missingEarlier.code, 1, 'the rotated file alone lacks the records before it');
  assert.match(missingEarlier.stdout, /deleted: chain main starts at seq \d+/);
});

/** Change record `from` and recompute its hash and every later prev/hash, as a careful attacker would. */
function rewriteFrom(all: string[], from: number): string[] {
  const out = all.slice(0, from);
  let prev = (JSON.parse(all[from - 1]!) as { hash: string }).hash;
  for (const line of all.slice(from)) {
    const next = rehash(line, (body) => {
      const edited = line === all[from] ? body.replace('"/x/3"', '"/x/9"') : body;
      return edited.replace(/"prev":"[^"]*"/, `"prev":"${prev}"`);
    });
    prev = (JSON.parse(next) as { hash: string }).hash;
    out.push(next);
  }
  return out;
}

/** A checkpoint re-signed with a key of the attacker's (and the line re-hashed): its signature fails against the gateway's JWKS. */
async function forgeCheckpoint(all: string[]): Promise<string[]> {
  const at = all.findIndex((l) => l.includes('"type":"audit_checkpoint"'));
  const cp = JSON.parse(all[at]!) as { checkpoint: { seq: number; hash: string; final: boolean; jws: string } };
  const attacker = await importPKCS8(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 'ES256');
  const kid = (JSON.parse(Buffer.from(cp.checkpoint.jws.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
  const jws = await new SignJWT({ chain: 'main', seq: cp.checkpoint.seq, hash: cp.checkpoint.hash, final: cp.checkpoint.final })
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'gatehouse-audit-checkpoint+jwt' }).setIssuedAt().sign(attacker);
  return all.map((l, i) => (i === at ? rehash(l, (body) => body.replace(cp.checkpoint.jws, jws)) : l));
}

test('with workers: 2 each worker keeps its own chain in the shared file, and the file verifies', async () => {
  const file = join(dir, 'workers.log');
  const cfg = join(dir, 'workers.yaml');
  writeFileSync(cfg, readFileSync(configFile, 'utf8').replace(JSON.stringify(auditFile), JSON.stringify(file)).replace('listen:', 'workers: 2\nlisten:'));
  const gw = await spawnCli(['start', '-c', cfg], /"port":(\d+),"admin":(\d+),"workers":2[^\n]*gatehouse listening/);
  try {
    const port = gw.match[1]!;
    writeFileSync(jwksFile, await (await fetch(`http://127.0.0.1:${port}/.well-known/jwks.json`)).text());
    // New connections each time, so both workers serve some.
    for (let i = 0; i < 30; i++) await (await fetch(`http://127.0.0.1:${port}/x/${i}`, { headers: { connection: 'close' } })).arrayBuffer();
  } finally {
    gw.child.kill('SIGTERM');
    assert.equal(await gw.exited, 0, gw.stderr());
  }
  const res = await verify(file);
  assert.equal(res.code, 0, res.stdout);
  const chains = new Set(lines(file).map((l) => (JSON.parse(l) as { chain: { id: string } }).chain.id));
  assert.deepEqual([...chains].sort(), ['w0', 'w1'], res.stdout);
});
