import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApiKeyAuthenticator, type ApiKeyAuthenticator } from '../../src/authn/apikey/apikey.js';
import { formatApiKeyHash, generateApiKey } from '../../src/authn/apikey/format.js';
import { authnRequest, codeOf as outcomeCode, keyFileEvents, probeNow } from '../harness/authn.js';

function mint(name: string): { key: string; entry: Record<string, unknown> } {
  const { id, key } = generateApiKey();
  return { key, entry: { id, name, hash: formatApiKeyHash(key) } };
}

/** A key file in a fresh directory, written the safe way (temp file + rename), as deploy tools do. */
function keyDir() {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-apikey-'));
  const file = join(dir, 'keys.yaml');
  const write = (text: string): void => {
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
  };
  return { dir, file, write, writeKeys: (entries: unknown[]) => write(JSON.stringify({ keys: entries })) };
}

/** The answer to a request with `key`, decided from memory (API keys never wait). */
function codeOf(a: ApiKeyAuthenticator, key: string): string | undefined {
  return outcomeCode(probeNow(a, authnRequest({ headers: { 'x-api-key': key } })));
}

/** Poll until `check` holds (the watcher debounces ~200 ms). */
async function eventually(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await sleep(25);
  }
}

describe('API key file reload', () => {
  it('a changed file (write + rename) adds a new key and drops a removed one', async () => {
    const k = keyDir();
    const a1 = mint('partner-a');
    const a2 = mint('partner-a');
    k.writeKeys([a1.entry]);
    const loads = keyFileEvents('partners');
    const a = createApiKeyAuthenticator('partners', { type: 'api-key', keys: 'keys.yaml', header: 'x-api-key' }, { baseDir: k.dir });
    try {
      await a.start();
      assert.equal(codeOf(a, a1.key), 'ok');
      assert.equal(codeOf(a, a2.key), 'api_key_invalid');
      k.writeKeys([a1.entry, a2.entry]);
      await eventually(() => codeOf(a, a2.key) === 'ok', 'the new key works');
      assert.equal(codeOf(a, a1.key), 'ok', 'both keys during rotation');
      k.writeKeys([a2.entry]);
      await eventually(() => codeOf(a, a1.key) === 'api_key_invalid', 'the removed key stops working');
      assert.equal(codeOf(a, a2.key), 'ok');
      assert.deepEqual(a.status(), { ready: true, keys: 1, lastError: undefined });
      assert.ok(loads.events.some((e) => e.ok && e.keys === 2 && e.file === k.file));
    } finally {
      loads.stop();
      a.close();
    }
  });

  it('a broken or deleted file keeps the previous keys and logs nothing secret; a fixed file loads', async () => {
    const k = keyDir();
    const good = mint('partner-a');
    const next = mint('partner-b');
    k.writeKeys([good.entry]);
    const loads = keyFileEvents('partners');
    const a = createApiKeyAuthenticator('partners', { type: 'api-key', keys: 'keys.yaml', header: 'x-api-key' }, { baseDir: k.dir });
    try {
      await a.start();
      // Someone pastes a raw key instead of its hash.
      k.writeKeys([good.entry, { ...next.entry, hash: next.key }]);
      await eventually(() => a.status().lastError !== undefined, 'the broken file is noticed');
      assert.match(a.status().lastError!, /\/keys\/1\/hash/);
      assert.equal(codeOf(a, good.key), 'ok', 'previous keys still work');
      assert.equal(codeOf(a, next.key), 'api_key_invalid');
      k.write('keys: [ { id: 1');
      await eventually(() => /YAML/.test(a.status().lastError ?? ''), 'the unparsable file is noticed');
      rmSync(k.file);
      await eventually(() => a.status().lastError === 'no such file', 'the deleted file is noticed');
      assert.equal(codeOf(a, good.key), 'ok');
      assert.equal(a.ready, true);
      const warnings = loads.events.filter((e) => !e.ok && e.kept === true);
      assert.equal(warnings.length, 3, 'one event per change, each keeping the previous keys');
      assert.match(warnings[0]!.error!, /\/keys\/1\/hash/);
      for (const l of loads.events.map((e) => JSON.stringify(e))) {
        assert.ok(!l.includes(next.key.slice(-43)) && !l.includes(good.key.slice(-43)), `no secret in: ${l}`);
        assert.ok(!l.includes(String(good.entry.hash)), `no hash in: ${l}`);
      }
      k.writeKeys([good.entry, next.entry]);
      await eventually(() => codeOf(a, next.key) === 'ok', 'the fixed file loads');
      assert.equal(a.status().lastError, undefined);
    } finally {
      loads.stop();
      a.close();
    }
  });

  it('a file missing at start: not ready and refusing, then ready once it appears', async () => {
    const k = keyDir();
    const a = createApiKeyAuthenticator('partners', { type: 'api-key', keys: 'keys.yaml', header: 'x-api-key' }, { baseDir: k.dir });
    const key = mint('late');
    try {
      await assert.rejects(a.start(), /no such file/);
      assert.equal(a.ready, false);
      assert.equal(codeOf(a, key.key), 'provider_unavailable');
      k.writeKeys([key.entry]);
      await eventually(() => a.ready === true, 'the file appears');
      assert.equal(codeOf(a, key.key), 'ok');
    } finally {
      a.close();
    }
  });

  it('after close, changes are no longer read', async () => {
    const k = keyDir();
    const one = mint('one');
    k.writeKeys([one.entry]);
    const a = createApiKeyAuthenticator('partners', { type: 'api-key', keys: 'keys.yaml', header: 'x-api-key' }, { baseDir: k.dir });
    await a.start();
    a.close();
    k.writeKeys([]);
    await sleep(400);
    assert.equal(codeOf(a, one.key), 'ok');
    assert.equal(await a.reload(), false);
  });
});
