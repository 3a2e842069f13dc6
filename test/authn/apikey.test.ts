import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiKeyAuthenticator, type ApiKeyAuthenticator } from '../../src/authn/apikey/apikey.js';
import { apiKeyId, formatApiKeyHash, generateApiKey } from '../../src/authn/apikey/format.js';
import { KeyFileError, parseExpires, parseKeyFile } from '../../src/authn/apikey/file.js';
import type { AuthnOutcome, AuthnRequest } from '../../src/authn/authenticator.js';
import { makeIdentity } from '../../src/identity/identity.js';
import type { IncomingHttpHeaders } from 'node:http';
import { authenticateWith, authnRequest, codeOf, keyFileEvents, probeNow } from '../harness/authn.js';

const request = (headers: IncomingHttpHeaders): AuthnRequest => authnRequest({ headers });

/** A fresh key and its key file entry (what `gatehouse apikey create` prints). */
function mint(fields: Record<string, unknown>): { key: string; entry: Record<string, unknown> } {
  const { id, key } = generateApiKey();
  return { key, entry: { id, ...fields, hash: formatApiKeyHash(key) } };
}

const dirs: ApiKeyAuthenticator[] = [];
async function authenticator(entries: Record<string, unknown>[], extra: Record<string, unknown> = {}): Promise<ApiKeyAuthenticator> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-apikey-'));
  writeFileSync(join(dir, 'keys.yaml'), JSON.stringify({ keys: entries }));
  const a = createApiKeyAuthenticator('partners', { type: 'api-key', keys: 'keys.yaml', header: 'x-api-key', ...extra }, { baseDir: dir });
  dirs.push(a);
  await a.start();
  return a;
}
after(() => { for (const a of dirs) a.close(); });

/** Keys are in memory: every answer comes from probe, without a promise. */
const outcome = (a: ApiKeyAuthenticator, headers: IncomingHttpHeaders): AuthnOutcome | undefined => probeNow(a, request(headers));
const code = (a: ApiKeyAuthenticator, headers: IncomingHttpHeaders): string | undefined => codeOf(outcome(a, headers));

describe('API key format', () => {
  it('is gh_<id>_<secret> with a 256-bit secret; the hash is SHA-256 of the whole key', () => {
    const { id, key } = generateApiKey();
    assert.match(key, /^gh_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.equal(apiKeyId(key), id);
    assert.match(formatApiKeyHash(key), /^sha256:[0-9a-f]{64}$/);
    assert.notEqual(generateApiKey().key, key);
    for (const bad of ['', 'gh_', `gh_${id}_short`, `gx_${id}_${key.slice(-43)}`, `gh_a_b_${key}`, `${key} `, `gh_${id}_${'a'.repeat(42)}`]) {
      assert.equal(apiKeyId(bad), undefined, bad);
    }
  });

  it('expires is a real date, or a date-time with a zone', () => {
    assert.equal(parseExpires('2027-01-01'), Date.UTC(2027, 0, 1));
    assert.equal(parseExpires('2027-01-01T12:00:00+02:00'), Date.UTC(2027, 0, 1, 10));
    for (const bad of ['2027-02-31', '2027-13-01', '2027-01-01T12:00', 'tomorrow', '01/01/2027']) assert.equal(parseExpires(bad), undefined, bad);
  });
});

describe('API key authenticator', () => {
  it('accepts a key from its file entry; the identity carries the entry, never the key or hash', async () => {
    const { key, entry } = mint({ name: 'partner-a', owner: 'ops@partner-a.example', roles: ['reader'], scopes: ['orders.read'], groups: ['partners'], plan: 'gold' });
    const a = await authenticator([entry]);
    assert.equal(a.ready, true);
    const out = outcome(a, { 'x-api-key': key });
    assert.ok(out?.ok);
    assert.deepEqual(out.identity, makeIdentity({
      provider: 'partners', subject: 'partner-a', clientId: String(entry.id), roles: ['reader'], groups: ['partners'], scopes: ['orders.read'],
      authMethod: 'apikey', claims: { key_id: entry.id, name: 'partner-a', owner: 'ops@partner-a.example', plan: 'gold' },
    }));
    assert.deepEqual(await authenticateWith(a, request({ 'x-api-key': key })), out, 'authenticate gives the answer probe gave');
    const text = JSON.stringify(out);
    assert.ok(!text.includes(key.slice(-43)) && !text.includes(String(entry.hash).slice(7)), 'no secret or hash in the outcome');
    assert.equal(code(a, { 'x-api-key': `  ${key} ` }), 'ok', 'surrounding whitespace is ignored');
  });

  it('no key header is "not mine"; any present value is judged', async () => {
    const a = await authenticator([]);
    assert.equal(code(a, {}), undefined);
    assert.equal(code(a, { authorization: 'Bearer abc.def.ghi' }), undefined);
    assert.equal(code(a, { authorization: 'ApiKey whatever' }), undefined, 'no scheme configured: Authorization is not ours');
    assert.equal(code(a, { 'x-api-key': '' }), 'api_key_invalid');
    assert.equal(code(a, { 'x-api-key': 'hunter2' }), 'api_key_invalid');
    assert.equal(code(a, { 'x-api-key': ['a', 'b'] as unknown as string }), 'api_key_invalid');
  });

  it('unknown id, wrong secret (same or other length) and malformed keys are all api_key_invalid', async () => {
    const { key, entry } = mint({ name: 'partner-a' });
    const a = await authenticator([entry]);
    const id = String(entry.id);
    const secret = key.slice(`gh_${id}_`.length);
    const flipped = (secret[0] === 'A' ? 'B' : 'A') + secret.slice(1);
    const cases = {
      unknownId: `gh_${'f'.repeat(16)}_${secret}`,
      wrongSecretSameLength: `gh_${id}_${flipped}`,
      wrongSecretLonger: `gh_${id}_${secret}AAAA`,
      otherKey: generateApiKey().key,
      malformed: `gh_${id}`,
    };
    const outs = Object.fromEntries(Object.entries(cases).map(([k, v]) => [k, outcome(a, { 'x-api-key': v })]));
    for (const [name, out] of Object.entries(outs)) {
      assert.ok(out && !out.ok, name);
      assert.equal(out.refusal.code, 'api_key_invalid', name);
      assert.equal(out.provider, 'partners');
    }
    // The caller cannot tell an unknown id from a wrong secret: the refusals are the same.
    assert.deepEqual(outs.unknownId, outs.wrongSecretSameLength);
    assert.deepEqual(outs.unknownId, outs.wrongSecretLonger);
    assert.equal(code(a, { 'x-api-key': key }), 'ok');
  });

  it('an expired key is api_key_expired; a key expiring later works and says when', async () => {
    const old = mint({ name: 'old', expires: '2020-01-01' });
    const soon = mint({ name: 'soon', expires: new Date(Date.now() + 3_600_000).toISOString() });
    const a = await authenticator([old.entry, soon.entry]);
    assert.equal(code(a, { 'x-api-key': old.key }), 'api_key_expired');
    const out = outcome(a, { 'x-api-key': soon.key });
    assert.ok(out?.ok);
    assert.ok(out.identity.expiresAt! > Date.now() / 1000);
    // Expiry is only revealed to a holder of the secret.
    const wrong = `gh_${String(old.entry.id)}_${'A'.repeat(43)}`;
    assert.equal(code(a, { 'x-api-key': wrong }), 'api_key_invalid');
  });

  it('rotation: two keys of one name are both valid and give the same subject', async () => {
    const current = mint({ name: 'partner-a', roles: ['reader'] });
    const next = mint({ name: 'partner-a', roles: ['reader'] });
    const a = await authenticator([current.entry, next.entry]);
    const one = outcome(a, { 'x-api-key': current.key });
    const two = outcome(a, { 'x-api-key': next.key });
    assert.ok(one?.ok && two?.ok);
    assert.equal(one.identity.subject, two.identity.subject);
    assert.notEqual(one.identity.clientId, two.identity.clientId);
  });

  it('scheme: also accepts Authorization: <scheme> <key>, scheme case-insensitive', async () => {
    const { key, entry } = mint({ name: 'partner-a' });
    const a = await authenticator([entry], { scheme: 'ApiKey' });
    assert.equal(code(a, { authorization: `ApiKey ${key}` }), 'ok');
    assert.equal(code(a, { authorization: `apikey ${key}` }), 'ok');
    assert.equal(code(a, { authorization: 'ApiKey' }), 'api_key_invalid');
    assert.equal(code(a, { authorization: `Bearer ${key}` }), undefined);
    assert.equal(code(a, { 'x-api-key': key, authorization: 'ApiKey nope' }), 'ok', 'the header comes first');
  });

  it('a provider whose key file is missing is not ready and refuses keys (fail closed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-apikey-'));
    const a = createApiKeyAuthenticator('partners', { type: 'api-key', keys: 'absent.yaml', header: 'x-api-key' }, { baseDir: dir });
    dirs.push(a);
    const loads = keyFileEvents('partners');
    try {
      await assert.rejects(a.start(), /absent\.yaml: no such file/);
    } finally {
      loads.stop();
    }
    assert.equal(a.ready, false);
    assert.equal(a.status().lastError, 'no such file');
    assert.deepEqual(loads.events, [{ provider: 'partners', file: a.file, ok: false, error: 'no such file', kept: false }]);
    assert.equal(code(a, { 'x-api-key': generateApiKey().key }), 'provider_unavailable');
    assert.equal(code(a, {}), undefined);
  });
});

describe('API key file', () => {
  const valid = mint({ name: 'a' }).entry;
  const problem = (text: string): string => {
    try {
      parseKeyFile(text, 'p');
    } catch (err) {
      assert.ok(err instanceof KeyFileError);
      return err.message;
    }
    assert.fail('expected a KeyFileError');
  };

  it('reads YAML and JSON', () => {
    assert.equal(parseKeyFile(JSON.stringify({ keys: [valid] }), 'p').size, 1);
    assert.equal(parseKeyFile(`keys:\n  - id: ${String(valid.id)}\n    name: a\n    expires: 2030-01-01\n    hash: ${String(valid.hash)}\n`, 'p').size, 1);
    assert.equal(parseKeyFile('keys: []', 'p').size, 0);
  });

  it('refuses broken files with a place, never a value', () => {
    const { key } = generateApiKey();
    const pasted = problem(JSON.stringify({ keys: [{ ...valid, hash: key }] }));
    assert.match(pasted, /^\/keys\/0\/hash/);
    assert.ok(!pasted.includes(key), 'a key pasted by mistake is not echoed');
    assert.match(problem(JSON.stringify({ keys: [valid, valid] })), /\/keys\/1\/id: duplicate/);
    assert.match(problem(JSON.stringify({ keys: [{ ...valid, role: ['admin'] }] })), /\/keys\/0\/role/);
    assert.match(problem(JSON.stringify({ keys: [{ ...valid, expires: '2027-02-31' }] })), /\/keys\/0\/expires/);
    assert.match(problem('keys: [\n'), /line \d+/);
    for (const text of [`keys:\n  - ${key}: [`, JSON.stringify({ keys: [{ ...valid, [key]: 1 }] }), `${key}\n`]) {
      assert.ok(!problem(text).includes(key.slice(-43)), 'a key pasted by mistake is not echoed');
    }
    assert.match(problem(''), /\//);
  });
});

describe('API key file values are text', () => {
  it('an unquoted id that reads like a number (1234e56789012345) is still the id', () => {
    const key = 'gh_1234e56789012345_' + 'a'.repeat(43);
    const keys = parseKeyFile(`keys:\n  - id: 1234e56789012345\n    name: batch\n    hash: ${formatApiKeyHash(key)}\n`, 'partners');
    assert.equal(keys.get('1234e56789012345')?.identity.subject, 'batch');
    assert.equal(apiKeyId(key), '1234e56789012345');
  });
});
