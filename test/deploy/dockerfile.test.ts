import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DockerfileParser } from 'dockerfile-ast';
import { ROOT } from '../harness/examples.js';
import { kustomize } from '../harness/kustomize.js';
import { startOidcProvider, type TestOidcProvider } from '../harness/oidc-provider.js';

// The container image, tested without a container daemon (none runs here): the Dockerfile linted
// (dockerfilelint, from the npm registry) and checked for what the deployment relies on, and the
// image's own entrypoint command run outside a container with the config the Kubernetes base mounts.

const run = promisify(execFile);
const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(text);
const instructions = dockerfile.getInstructions();
const lastFrom = instructions.map((i) => i.getKeyword()).lastIndexOf('FROM');
const finalStage = instructions.slice(lastFrom);
const args = (keyword: string): string[] => finalStage.filter((i) => i.getKeyword() === keyword).map((i) => i.getArgumentsContent() ?? '');

describe('Dockerfile', () => {
  it('passes the linter', async () => {
    const { stdout } = await run(process.execPath, [join(ROOT, 'node_modules/dockerfilelint/bin/dockerfilelint'), join(ROOT, 'Dockerfile')]);
    assert.match(stdout, /Issues: None found/, stdout);
  });

  it('builds in stages, ships production dependencies only, runs as the non-root user the Deployment expects, with tini as PID 1', () => {
    assert.ok(dockerfile.getFROMs().length >= 2, 'multi-stage');
    assert.ok(dockerfile.getFROMs().every((f) => /^node:24-/.test(f.getImage() ?? '')), 'the current Node LTS');
    assert.ok(instructions.some((i) => i.getKeyword() === 'RUN' && /npm ci --omit=dev/.test(i.getArgumentsContent() ?? '')), 'production dependencies installed with npm ci --omit=dev');
    const copies = finalStage.filter((i) => i.getKeyword() === 'COPY');
    const nodeModules = copies.find((c) => /node_modules/.test(c.getArgumentsContent() ?? ''))!;
    assert.match(nodeModules.getArgumentsContent()!, /\/app\/node_modules/);
    assert.match(text, /COPY --from=deps \/app\/node_modules/, 'node_modules come from the production-only stage');
    const [user] = args('USER');
    const runAsUser = (kustomize(join(ROOT, 'deploy/kubernetes/base')).find((r) => r.kind === 'Deployment') as unknown as { spec: { template: { spec: { securityContext: { runAsUser: number } } } } }).spec.template.spec.securityContext.runAsUser;
    assert.equal(user, `${runAsUser}:${runAsUser}`, 'a numeric non-root user (runAsNonRoot can check it), the Deployment\'s runAsUser');
    assert.deepEqual((JSON.parse(args('ENTRYPOINT')[0]!) as string[]).slice(0, 2), ['/usr/bin/tini', '--']);
  });

  it('.dockerignore keeps the build context to what the image copies', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const must of ['node_modules', '.git', 'test', 'dist']) assert.ok(ignored.includes(must), `${must} is not sent to the builder`);
    const lines = text.split('\n');
    const sources = instructions.filter((i) => i.getKeyword() === 'COPY' && !/--from=/.test(lines[i.getRange().start.line] ?? ''))
      .flatMap((i) => (i.getArgumentsContent() ?? '').split(/\s+/).slice(0, -1));
    for (const s of sources) {
      assert.ok(existsSync(join(ROOT, s)), `COPY ${s}: in the repository`);
      assert.ok(!ignored.includes(s), `COPY ${s}: not ignored`);
    }
  });
});

/** Start a command and wait for a line of its output matching `ready`. */
function spawnProcess(cmd: string, argv: string[], ready: RegExp, opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ child: ChildProcess; match: RegExpMatchArray; output: () => string; exited: Promise<number | null> }> {
  const child = spawn(cmd, argv, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`not ready: ${out}`)); }, 30_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) { clearTimeout(timer); resolve({ child, match: m, output: () => out, exited }); }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`exited ${code}: ${out}`)); });
  });
}

describe('the image\'s entrypoint command, run outside a container', () => {
  let op: TestOidcProvider;
  before(async () => { op = await startOidcProvider(); });
  after(() => op.stop());

  it('serves the Kubernetes base config: healthy, ready, and drains on SIGTERM with exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-image-'));
    writeFileSync(join(dir, 'assertion-key.pem'), execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], { encoding: 'utf8' }));
    const base = kustomize(join(ROOT, 'deploy/kubernetes/base'));
    const mounted = String((base.find((r) => r.kind === 'ConfigMap') as unknown as { data: Record<string, string> }).data['gatehouse.yaml']);
    writeFileSync(join(dir, 'gatehouse.yaml'), mounted.replaceAll('/etc/gatehouse/secrets/', `${dir}/`));
    // ENTRYPOINT + CMD as the image runs them, without tini (PID 1's job here is the test's), the
    // config path the container mounts replaced by the file above, on free ports.
    const command = [...(JSON.parse(args('ENTRYPOINT')[0]!) as string[]).slice(2), ...(JSON.parse(args('CMD')[0]!) as string[])]
      .map((a) => (a === '/etc/gatehouse/config/gatehouse.yaml' ? join(dir, 'gatehouse.yaml') : a));
    assert.equal(command[0], 'node');
    const gw = await spawnProcess(process.execPath, [...command.slice(1), '--port', '0', '--admin-port', '0'], /"port":(\d+),"admin":(\d+)[^\n]*gatehouse listening/, {
      cwd: ROOT, env: { ...process.env, NODE_ENV: 'production', OIDC_ISSUER: op.issuer, OIDC_AUDIENCE: op.audience, UPSTREAM_URL: 'http://127.0.0.1:9' },
    });
    try {
      const admin = `http://127.0.0.1:${gw.match[2]}`;
      assert.equal((await fetch(`${admin}/healthz`)).status, 200);
      let ready = 0;
      for (let i = 0; i < 50 && ready !== 200; i++) {
        ready = (await fetch(`${admin}/readyz`)).status;
        if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(ready, 200, 'ready once the provider\'s keys are fetched');
      assert.equal((await fetch(`http://127.0.0.1:${gw.match[1]}/api/x`)).status, 401, 'the public port serves the route, refusing a caller without a token');
    } finally {
      gw.child.kill('SIGTERM');
    }
    assert.equal(await gw.exited, 0, gw.output());
  });
});
