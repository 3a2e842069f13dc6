// The small rules browser sessions rest on: safe return paths, who is a browser, same-origin, cookie chunks, sealing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { safeReturnPath } from '../../../src/authn/session/return-url.js';
import { isBrowserNavigation, prefersHtml, sameOrigin } from '../../../src/authn/session/browser.js';
import { chunkedCookies, CHUNK_SIZE, parseCookies, readChunks } from '../../../src/authn/session/cookies.js';
import { createSealer } from '../../../src/authn/session/seal.js';

describe('return paths', () => {
  it('keeps same-origin relative paths with their query', () => {
    assert.equal(safeReturnPath('/'), '/');
    assert.equal(safeReturnPath('/app/reports?q=1&x=%2F'), '/app/reports?q=1&x=%2F');
    assert.equal(safeReturnPath('/a/./b/../c'), '/a/c');
  });
  it('refuses everything a browser could read as another origin', () => {
    for (const bad of ['//evil.example', '///evil.example', '/\\evil.example', '/\\/evil.example', 'https://evil.example', 'http:/evil.example', 'javascript:alert(1)',
      '/%2F%2Fevil.example', '/%2fevil.example', '/%5Cevil.example', '/x/..//evil.example', '/./..//evil.example', '/\t/evil.example', '/\n/evil.example', '/ /x', '/x\\y',
      'evil.example', '', undefined, null, `/${'a'.repeat(3000)}`]) {
      assert.equal(safeReturnPath(bad as string | undefined), undefined, JSON.stringify(bad));
    }
  });
});

describe('browsers and origins', () => {
  const chrome = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
  it('a navigation prefers HTML; fetch, XHR and API clients do not', () => {
    assert.equal(isBrowserNavigation('GET', { accept: chrome }), true);
    assert.equal(isBrowserNavigation('HEAD', { accept: chrome }), true);
    assert.equal(isBrowserNavigation('POST', { accept: chrome }), false);
    assert.equal(prefersHtml({ accept: '*/*' }), false);
    assert.equal(prefersHtml({}), false);
    assert.equal(prefersHtml({ accept: 'application/json' }), false);
    assert.equal(prefersHtml({ accept: 'application/json, text/html;q=0.5' }), false);
    assert.equal(prefersHtml({ accept: chrome, 'x-requested-with': 'XMLHttpRequest' }), false);
  });
  it('state changes need the own origin, an allowed one, or Sec-Fetch-Site same-origin/none', () => {
    const own = 'https://app.example.com';
    const allowed = new Set(['https://admin.example.com']);
    assert.equal(sameOrigin('GET', { origin: 'https://evil.example' }, own, allowed), true);
    assert.equal(sameOrigin('POST', { origin: own }, own, allowed), true);
    assert.equal(sameOrigin('POST', { origin: 'HTTPS://APP.EXAMPLE.COM' }, own, allowed), true);
    assert.equal(sameOrigin('DELETE', { origin: 'https://admin.example.com' }, own, allowed), true);
    assert.equal(sameOrigin('PUT', { 'sec-fetch-site': 'none' }, own, allowed), true);
    for (const h of [{ origin: 'https://evil.example' }, { origin: 'null' }, { origin: 'https://app.example.com.evil.example' }, { 'sec-fetch-site': 'same-site' }, { 'sec-fetch-site': 'cross-site' }, {},
      { origin: 'https://evil.example', 'sec-fetch-site': 'same-origin' }]) {
      assert.equal(sameOrigin('POST', h, own, allowed), false, JSON.stringify(h));
    }
  });
});

describe('cookie chunks and sealing', () => {
  it('splits under 4 KB a line, joins in order, and clears chunks no longer needed', () => {
    const value = 'x'.repeat(CHUNK_SIZE * 2 + 10);
    const lines = chunkedCookies('gh_session', value, 60, new Map([['__Host-gh_session.5', 'old']]));
    assert.equal(lines.filter((l) => !l.includes('Max-Age=0')).length, 3);
    assert.ok(lines.some((l) => l.startsWith('__Host-gh_session.5=;') && l.includes('Max-Age=0')));
    for (const l of lines) assert.ok(l.length < 4096);
    const header = lines.filter((l) => !l.includes('Max-Age=0')).map((l) => l.split(';')[0]).join('; ');
    assert.equal(readChunks(parseCookies(header), 'gh_session'), value);
  });
  it('opens only what its keys sealed, untouched', async () => {
    const a = createSealer(['key-a-0123456789abcdef0123456789abcdef']);
    const ab = createSealer(['key-b-0123456789abcdef0123456789abcdef', 'key-a-0123456789abcdef0123456789abcdef']);
    const jwe = await a.seal({ v: 1, sub: 'alice' });
    assert.deepEqual(await ab.open(jwe), { v: 1, sub: 'alice' });
    assert.equal(await createSealer(['key-b-0123456789abcdef0123456789abcdef']).open(jwe), undefined);
    const parts = jwe.split('.');
    const flipped = [...parts];
    flipped[3] = (flipped[3]![0] === 'A' ? 'B' : 'A') + flipped[3]!.slice(1);
    assert.equal(await ab.open(flipped.join('.')), undefined);
    // A header naming another algorithm or no key is not tried.
    const header = Buffer.from(JSON.stringify({ alg: 'none', enc: 'A256GCM' })).toString('base64url');
    assert.equal(await ab.open([header, ...parts.slice(1)].join('.')), undefined);
    assert.equal(await ab.open('not-a-jwe'), undefined);
  });
});
