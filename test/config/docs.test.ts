import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { renderConfigDoc, renderErrorsDoc, renderJsonSchema } from '../../src/config/docs.js';
import { loadConfigText } from '../../src/config/load.js';
import { ERRORS } from '../../src/errors.js';
import { docYamlBlocks, exampleNames, exampleText, EXAMPLES_DIR } from '../harness/examples.js';
import { makeTestPki } from '../harness/tls.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const committed = (file: string) => readFileSync(join(root, file), 'utf8');
const gitFiles = (): string[] => execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);

describe('generated docs are up to date', () => {
  for (const [file, render] of [
    ['docs/config.md', renderConfigDoc],
    ['docs/errors.md', renderErrorsDoc],
    ['schema/gatehouse.schema.json', renderJsonSchema],
  ] as const) {
    it(file, () => {
      assert.ok(committed(file) === render(), `${file} is out of date: run npm run docs`);
    });
  }

  it('lists every error code with its status', () => {
    const doc = renderErrorsDoc();
    for (const [code, { status }] of Object.entries(ERRORS)) assert.ok(doc.includes(`| \`${code}\` | ${status} |`), code);
  });

  it('publishes a draft 2020-12 schema without TypeBox internals', () => {
    const schema = JSON.parse(renderJsonSchema()) as Record<string, unknown>;
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(typeof schema.$id, 'string');
    assert.deepEqual(schema.required, ['routes']);
  });

  it('names the schema and the problem types with documented URNs, not URLs nobody serves', () => {
    const schema = JSON.parse(renderJsonSchema()) as Record<string, unknown>;
    assert.equal(schema.$id, 'urn:gatehouse:config-schema:v1');
    assert.ok(renderConfigDoc().includes('`urn:gatehouse:config-schema:v1`'), 'docs/config.md documents the $id');
    const errors = renderErrorsDoc();
    assert.ok(errors.includes('"type": "urn:gatehouse:error:token_expired"'));
    assert.ok(errors.includes('`urn:gatehouse:error:<code>`'), 'docs/errors.md says what type is');
  });
});

// ---------------------------------------------------------------------------------------------
// Every configuration the README and the docs show is an examples/ file that loads and that an
// end-to-end test runs (test/e2e/examples-*.test.ts); anything else is marked `# fragment`.

/** Values for the `${env:}` references the examples use (a new one fails here until it is added). */
const EXAMPLE_ENV = { TENANT_ID: '4b0911a0-929b-4715-944b-c03745165b3a', API_CLIENT_ID: '6e74172b-be56-4843-9ff4-e66a39bb12e3', REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PASSWORD: 'placeholder', AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672', HONEYCOMB_API_KEY: 'placeholder', GATEHOUSE_DASHBOARD_TOKEN: 'an-example-dashboard-token', SERVICEBUS_CONNECTION_STRING: 'Endpoint=sb://shop.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=placeholder',
  DASHBOARD_CLIENT_SECRET: 'placeholder-dashboard-client-secret',
  OIDC_CLIENT_SECRET: 'placeholder-client-secret', SESSION_KEY: 'placeholder-session-key-0123456789abcdef', SESSION_KEY_OLD: 'placeholder-old-session-key-0123456789abcdef' };

/** PEM placeholder: a certificate and its key in one text (the loader checks certificate files it is given). */
const PEM_PAIR = (() => {
  const pki = makeTestPki();
  rmSync(pki.dir, { recursive: true, force: true });
  return pki.certPem + pki.keyPem;
})();

/** Load config text with the real loader; `${file:}` references point at placeholder files (`*.pem`: PEM_PAIR, `*.json`: `{}`), remote secrets read as placeholders. */
function load(text: string): ReturnType<typeof loadConfigText> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-docs-'));
  let n = 0;
  const local = text.replace(/\$\{file:([^}]+)\}/g, (_all, path: string) => {
    const file = join(dir, `ref-${n++}`);
    writeFileSync(file, path.endsWith('.pem') ? PEM_PAIR : path.endsWith('.json') ? '{}' : 'placeholder');
    return `\${file:${file}}`;
  });
  const remote = new Map([...local.matchAll(/\$\{(?:keyvault|aws-secretsmanager):[^}]*\}/g)].map((m) => [m[0], { value: 'placeholder' }]));
  return loadConfigText(local, join(dir, 'gatehouse.yaml'), EXAMPLE_ENV, { remote });
}

const SCHEMA = JSON.parse(renderJsonSchema()) as { properties: Record<string, { items?: { properties: Record<string, unknown> } }> };
const TOP_KEYS = new Set(Object.keys(SCHEMA.properties));
const ROUTE_KEYS = new Set(Object.keys(SCHEMA.properties.routes!.items!.properties));

/** A fragment made whole: a public route when it has none, a stub provider for every name it uses but does not define. */
function complete(fragment: Record<string, unknown>): Record<string, unknown> {
  const config: Record<string, unknown> = Object.keys(fragment).every((k) => ROUTE_KEYS.has(k) && !TOP_KEYS.has(k))
    ? { routes: [{ name: 'fragment', match: { path: '/*' }, authenticate: ['stub'], upstream: { url: 'http://127.0.0.1:1' }, ...fragment }] }
    : { ...fragment };
  config.routes ??= [{ name: 'stub', match: { path: '/stub' }, public: true, upstream: { url: 'http://127.0.0.1:1' } }];
  const providers = { ...(config.providers as Record<string, unknown> | undefined) };
  const used = [
    ...(config.routes as { authenticate?: string[] }[]).flatMap((r) => r.authenticate ?? []),
    ...Object.values((config.plans ?? {}) as Record<string, { assign?: { provider?: string }[] }>).flatMap((p) => (p.assign ?? []).map((a) => a.provider ?? '')),
  ].filter(Boolean);
  // `session:<name>` needs <name> to be an OIDC provider with a login block: stubbed first, so a bare <name> finds it.
  for (const name of used.filter((n) => n.startsWith('session:'))) {
    providers[name.slice('session:'.length)] ??= { type: 'oidc', issuer: 'https://idp.example.com', audience: 'stub', login: { clientId: 'stub', clientSecret: '${env:OIDC_CLIENT_SECRET}', keys: ['${env:SESSION_KEY}'] } };
  }
  for (const name of used.filter((n) => !n.startsWith('session:'))) providers[name] ??= { type: 'api-key', keys: 'stub-keys.yaml' };
  if (Object.keys(providers).length > 0) config.providers = providers;
  return config;
}

describe('configurations shown in README.md and docs/', () => {
  const blocks = docYamlBlocks();
  const where = (b: { doc: string; line: number }): string => `${b.doc}:${b.line}`;

  it('finds the blocks (README and every provider page show some)', () => {
    assert.ok(blocks.some((b) => b.doc === 'README.md' && b.example === 'entra-managed-identity.yaml'), 'the README\'s real configuration');
    for (const page of ['oidc-presets', 'api-keys', 'aws-sigv4', 'mtls', 'introspection']) assert.ok(blocks.some((b) => b.doc === `docs/providers/${page}.md`), page);
  });

  it('every yaml block is an examples/ file, verbatim, or says # fragment on its first line', () => {
    const problems: string[] = [];
    for (const b of blocks) {
      if (b.fragment) continue;
      if (b.example === undefined) problems.push(`${where(b)}: start the block with "# examples/<name>.yaml" (and add that file) or "# fragment"`);
      else if (!exampleNames().includes(b.example)) problems.push(`${where(b)}: examples/${b.example} does not exist`);
      else if (b.text !== exampleText(b.example)) problems.push(`${where(b)}: differs from examples/${b.example}`);
    }
    assert.deepEqual(problems, []);
  });

  for (const name of exampleNames()) {
    it(`examples/${name} loads with the config loader`, () => {
      assert.ok(load(exampleText(name)).config.routes.length > 0);
    });
  }

  it('every example is run by an end-to-end test (test/e2e)', () => {
    const e2e = readdirSync(join(root, 'test/e2e')).filter((f) => f.endsWith('.test.ts')).map((f) => readFileSync(join(root, 'test/e2e', f), 'utf8')).join('\n');
    const missing = exampleNames().filter((name) => !e2e.includes(`'${name}'`) && !e2e.includes(`examples/${name}'`));
    assert.deepEqual(missing, [], `no test in test/e2e names these examples (${EXAMPLES_DIR})`);
  });

  it('fragments are parts: YAML that is not a whole config, and whose config parts load once completed', () => {
    const problems: string[] = [];
    for (const b of blocks.filter((x) => x.fragment)) {
      let value: unknown;
      try {
        value = parse(b.text);
      } catch (err) {
        problems.push(`${where(b)}: not YAML: ${(err as Error).message}`);
        continue;
      }
      const whole = (() => { try { load(b.text); return true; } catch { return false; } })();
      if (whole) problems.push(`${where(b)}: a whole config marked # fragment: make it an examples/ file`);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) continue;   // e.g. only the schema comment
      const keys = Object.keys(value);
      if (!keys.every((k) => TOP_KEYS.has(k)) && !keys.every((k) => ROUTE_KEYS.has(k))) continue;   // another file's format (a key file)
      try {
        load(stringify(complete(value as Record<string, unknown>)));
      } catch (err) {
        problems.push(`${where(b)}: does not load once completed: ${(err as Error).message}`);
      }
    }
    assert.deepEqual(problems, []);
  });
});

// ---------------------------------------------------------------------------------------------
// The repository stands alone: nothing committed points at a machine path, a sibling folder or a
// host the project does not control. (Patterns are built from parts so that this file passes too.)

describe('the repository stands alone', () => {
  const machinePath = new RegExp(`(?<![\\w.~/-])${'/wo'}rk/`);
  const sibling = `../${'shared'}/`;
  const host = new RegExp(`(?<![\\w-])gatehouse\\.${'dev'}(?![\\w-])(?!\\.invalid(?![\\w-]))`, 'i');

  it('no committed file names a machine path, a folder beside the repository or a host the project does not own', () => {
    const problems: string[] = [];
    for (const file of gitFiles()) {
      if (file === 'package-lock.json') continue;
      let text: string;
      try { text = readFileSync(join(root, file), 'utf8'); } catch { continue; }   // listed but not checked out
      if (text.includes('\0')) continue;
      text.split('\n').forEach((line, i) => {
        if (machinePath.test(line) || line.includes(sibling) || host.test(line)) problems.push(`${file}:${i + 1}: ${line.trim().slice(0, 120)}`);
      });
    }
    assert.deepEqual(problems, []);
  });

  it('the patterns catch what they are for', () => {
    assert.ok(machinePath.test(`cp -r /${'work'}/shared/bench x`) && !machinePath.test(`https://example.com/${'work'}/x`));
    assert.ok(host.test(`https://gatehouse.${'dev'}/errors/x`) && host.test(`api.gatehouse.${'dev'}`));
    assert.ok(!host.test(`https://gatehouse.${'dev'}.invalid`) && !host.test('gatehouse dev-token'));
  });

  it('relative links in committed markdown point at committed files inside the repository', () => {
    const files = new Set(gitFiles());
    const dirs = new Set([...files].flatMap((f) => f.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))));
    const problems: string[] = [];
    for (const doc of [...files].filter((f) => f.endsWith('.md'))) {
      const text = committed(doc).replace(/^```[\s\S]*?^```/gm, '');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!.split('#')[0]!;
        if (target === '' || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue;   // same page, or a URL
        const path = normalize(join(dirname(doc), target)).replace(/\/$/, '');
        if (relative(root, join(root, path)).startsWith('..')) problems.push(`${doc}: ${m[1]} leaves the repository`);
        else if (!files.has(path) && !dirs.has(path)) problems.push(`${doc}: ${m[1]} is not a committed file`);
      }
    }
    assert.deepEqual(problems, []);
  });
});
