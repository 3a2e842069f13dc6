import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { runCli, spawnCli } from '../harness/run-cli.js';

const exec = promisify(execFile);

async function curl(args: string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await exec('curl', ['-s', '-S', '-w', '\n%{http_code}', ...args]);
  const i = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(i + 1)), body: stdout.slice(0, i) };
}

// The README's quick start, driven as a user would: `gatehouse start` on the embedded default
// (quickstart config, dev issuer, sample upstream), `gatehouse dev-token`, then curl.
test('quick start: dev token gets through, no token 401, wrong role 403 (curl)', async () => {
  const gw = await spawnCli(['start', '--port', '0', '--admin-port', '0'], /"port":(\d+),"admin":(\d+)[^\n]*gatehouse listening/);
  try {
    assert.match(gw.stderr(), /DEVELOPMENT ISSUER ENABLED/, 'a loud warning at start');
    const base = `http://127.0.0.1:${gw.match[1]}`;
    const reader = await runCli(['dev-token', '--sub', 'alice', '--roles', 'reader']);
    assert.equal(reader.code, 0, reader.stderr);
    const token = reader.stdout.trim();
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);

    const ok = await curl(['-H', `Authorization: Bearer ${token}`, `${base}/api/reports/q3`]);
    assert.equal(ok.status, 200, ok.body);
    const echoed = JSON.parse(ok.body) as { path: string; identity: Record<string, string>; assertion: string };
    assert.equal(echoed.path, '/api/reports/q3');
    assert.equal(echoed.identity['x-gatehouse-subject'], 'alice');
    assert.match(echoed.assertion, /^present/);

    const none = await curl(['-i', `${base}/api/reports/q3`]);
    assert.equal(none.status, 401);
    assert.match(none.body, /www-authenticate: Bearer realm="gatehouse"/i);
    assert.match(none.body, /"code":"token_missing"/);

    const wrongRole = await curl(['-H', `Authorization: Bearer ${token}`, `${base}/api/admin/users`]);
    assert.equal(wrongRole.status, 403);
    assert.equal((JSON.parse(wrongRole.body) as { code: string }).code, 'no_rule_matched');

    const admin = (await runCli(['dev-token', '--sub', 'root', '--roles', 'admin'])).stdout.trim();
    const adminOk = await curl(['-H', `Authorization: Bearer ${admin}`, `${base}/api/admin/users`]);
    assert.equal(adminOk.status, 200);

    const health = await curl([`http://127.0.0.1:${gw.match[2]}/readyz`]);
    assert.equal(health.status, 200, health.body);
  } finally {
    gw.child.kill('SIGTERM');
    assert.equal(await gw.exited, 0);
  }
});

test('validate accepts the quick start config', async () => {
  const r = await runCli(['validate', '-c', 'examples/quickstart.yaml']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /valid \(3 routes/);
});
