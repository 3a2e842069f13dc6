import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { loadConfigText } from '../../src/config/load.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { literalSecretWarnings, secretFields } from '../../src/config/secrets.js';
import { loadError, tempDir, VALID_YAML } from './fixtures.js';

const FILE = '/etc/gatehouse/gatehouse.yaml';
const LITERAL = 'hunter2-literal-secret';

/** An introspection provider beside the fixture's OIDC one. */
const introspection = (secret: string) =>
  VALID_YAML.replace('providers:\n', () => `providers:\n  opaque:\n    type: introspection\n    endpoint: https://id.example.com/introspect\n    clientId: gateway\n    clientSecret: ${secret}\n`);
/** 1-based line of the first line of `text` containing `fragment`. */
const lineOf = (text: string, fragment: string): number => text.split('\n').findIndex((l) => l.includes(fragment)) + 1;

describe('secrets are references, never literals', () => {
  it('which fields hold secrets is read from the schema (`secret: true`), whatever the field', () => {
    const schema = Type.Object({
      plain: Type.String(),
      nested: Type.Object({ token: Type.String({ secret: true }) }),
      list: Type.Array(Type.Union([Type.Object({ type: Type.Literal('a'), key: Type.String({ secret: true }) }), Type.Object({ type: Type.Literal('b'), key: Type.String() })])),
    });
    const doc = { plain: 'x', nested: { token: 't' }, list: [{ type: 'a', key: 'k' }, { type: 'b', key: 'k' }] };
    assert.deepEqual(secretFields(schema, doc), ['/nested/token', '/list/0/key']);
    assert.deepEqual(literalSecretWarnings(schema, doc, new Map([['/nested/token', ['${env:T}']]])).map((w) => w.path), ['/list/0/key']);
    // In Gatehouse's own schema: the listener key, the assertion key, a provider's client secret.
    const config = { listen: { tls: { cert: 'c', key: 'k' } }, assertion: { privateKey: 'p' }, providers: { o: { type: 'introspection', clientSecret: 's' }, j: { type: 'oidc', issuer: 'i' } }, routes: [] };
    assert.deepEqual(secretFields(ConfigSchema, config), ['/listen/tls/key', '/assertion/privateKey', '/providers/o/clientSecret']);
  });

  it('warns about each literal secret with its path and line, never its value', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const text = `assertion:\n  privateKey: |\n${pem.trim().split('\n').map((l) => `    ${l}`).join('\n')}\n${introspection(LITERAL)}`;
    const loaded = loadConfigText(text, FILE, {});
    const secretLine = lineOf(text, 'clientSecret');
    assert.deepEqual(loaded.warningIssues.map((w) => [w.path, w.line]), [['/assertion/privateKey', 2], ['/providers/opaque/clientSecret', secretLine]]);
    for (const w of loaded.warningIssues) assert.match(w.message, /secret written as a literal value: secrets are references, never literals; .*"\$\{file:\/path\}" or "\$\{env:NAME\}"/);
    assert.deepEqual(loaded.warnings, [
      `assertion.privateKey (line 2): ${loaded.warningIssues[0]!.message}`,
      `providers.opaque.clientSecret (line ${secretLine}): ${loaded.warningIssues[1]!.message}`,
    ]);
    const everything = JSON.stringify([loaded.warnings, loaded.warningIssues]);
    assert.ok(!everything.includes(LITERAL) && !everything.includes('BEGIN PRIVATE KEY'), everything);
  });

  it('accepts the same secrets as ${env:} and ${file:} references without a warning (and $${ is still a literal)', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'key.pem'), 'not checked here\n');
    const text = `listen: { tls: { cert: "\${file:key.pem}", key: "\${file:key.pem}" } }\n${introspection('"${env:SECRET}"')}`;
    assert.deepEqual(loadConfigText(text, join(dir, 'gatehouse.yaml'), { SECRET: 's' }).warningIssues, []);
    const escaped = loadConfigText(introspection('"$${env:SECRET}"'), FILE, {});
    assert.deepEqual(escaped.warningIssues.map((w) => w.path), ['/providers/opaque/clientSecret']);
  });

  it('a URL with a literal password is a literal secret too, in any field; with the password referenced it is not', () => {
    const text = `limits: { store: redis, redis: { url: "redis://:pw-s3cr3t@cache:6379" } }\n${VALID_YAML}`.replace('url: http://127.0.0.1:3000 }', 'url: "https://svc:up-s3cr3t@127.0.0.1:3000" }');
    const loaded = loadConfigText(text, FILE, {});
    assert.deepEqual(loaded.warningIssues.map((w) => [w.path, w.line]), [['/limits/redis/url', 1], ['/routes/0/upstream/url', lineOf(text, 'up-s3cr3t')]]);
    assert.match(loaded.warningIssues[0]!.message, /URL with a literal password: secrets are references, never literals/);
    assert.ok(!JSON.stringify(loaded.warnings).includes('s3cr3t'), loaded.warnings.join('\n'));
    const referenced = text.replace('pw-s3cr3t', '${env:REDIS_PASSWORD}').replace('svc:up-s3cr3t@', 'svc@');
    assert.deepEqual(loadConfigText(referenced, FILE, { REDIS_PASSWORD: 'p' }).warningIssues, []);
  });

  it('literal secrets are reported beside errors, so one run shows both', () => {
    const text = `listen: { port: abc }\n${introspection(LITERAL)}`;
    const error = loadError(text);
    assert.deepEqual(error.issues.map((i) => i.path), ['/listen/port']);
    assert.deepEqual(error.warnings.map((w) => [w.path, w.line]), [['/providers/opaque/clientSecret', lineOf(text, 'clientSecret')]]);
    assert.ok(!error.message.includes(LITERAL));
  });
});
