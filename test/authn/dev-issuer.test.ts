import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { loadDevIssuer } from '../../src/authn/dev/dev-issuer.js';

describe('development issuer', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'gatehouse-dev-')); });
  after(() => rm(dir, { recursive: true, force: true }));

  it('signs tokens its provider verifies, with defaults', async () => {
    const dev = await loadDevIssuer(true, dir);
    assert.equal(dev.issuer, 'https://gatehouse.dev.invalid');
    assert.equal(dev.audience, 'gatehouse');
    assert.equal(dev.provider.name, 'dev');
    assert.equal(dev.provider.ready, true);
    const token = await dev.sign({ sub: 'alice', roles: ['admin'], scope: 'read write', groups: ['eng'], extra: { tid: 'acme', sub: 'ignored' } });
    assert.equal(decodeProtectedHeader(token).alg, 'ES256');
    const r = await dev.provider.verify(token);
    assert.ok(r.ok);
    assert.equal(r.identity.subject, 'alice');
    assert.deepEqual(r.identity.roles, ['admin']);
    assert.deepEqual(r.identity.scopes, ['read', 'write']);
    assert.deepEqual(r.identity.groups, ['eng']);
    assert.equal(r.identity.tenant, 'acme');
    const wrongAud = await dev.provider.verify(await dev.sign({ sub: 'a', aud: 'other' }));
    assert.equal(wrongAud.ok ? 'ok' : wrongAud.refusal.code, 'audience_mismatch');
    dev.provider.close();
  });

  it('creates the key file with mode 0600 and reuses it on the next load', async () => {
    const cfg = { issuer: 'https://dev.local', audience: 'aud', keyFile: 'nested/dir/key.json' };
    const first = await loadDevIssuer(cfg, dir);
    assert.equal(first.keyFile, join(dir, 'nested/dir/key.json'));
    assert.equal((await stat(first.keyFile)).mode & 0o777, 0o600);
    const text = await readFile(first.keyFile, 'utf8');
    const second = await loadDevIssuer(cfg, dir);
    assert.equal(await readFile(second.keyFile, 'utf8'), text);
    // A token from one instance (e.g. the CLI) verifies in the other (the gateway).
    const r = await second.provider.verify(await first.sign({ sub: 'bob', ttlSec: 60 }));
    assert.ok(r.ok);
    assert.equal(r.identity.issuer, 'https://dev.local');
  });

  it('two concurrent first loads end up with one key', async () => {
    const cfg = { keyFile: 'race/key.json' };
    const [a, b] = await Promise.all([loadDevIssuer(cfg, dir), loadDevIssuer(cfg, dir)]);
    assert.ok((await b.provider.verify(await a.sign({ sub: 'x' }))).ok);
    assert.ok((await a.provider.verify(await b.sign({ sub: 'y' }))).ok);
  });

  it('refuses a corrupt key file without echoing its content', async () => {
    await writeFile(join(dir, 'bad.json'), '{"kty":"EC","d":"c2VjcmV0"}', { mode: 0o600 });
    await assert.rejects(loadDevIssuer({ keyFile: 'bad.json' }, dir), (e: Error) => /ES256 private JWK/.test(e.message) && !e.message.includes('c2VjcmV0'));
  });
});
