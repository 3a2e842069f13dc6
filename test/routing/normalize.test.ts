import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTarget } from '../../src/routing/normalize.js';
import { RouteTable } from '../../src/routing/table.js';
import type { ErrorCode } from '../../src/errors.js';

type Expect = { path: string; query?: string; sep?: boolean; host?: string } | { code: ErrorCode };

const cases: [raw: string, expect: Expect][] = [
  // Fast path: already normal.
  ['/', { path: '/' }],
  ['/a/b', { path: '/a/b' }],
  ['/a/b/', { path: '/a/b/' }],
  ['/a/b?x=1&y=%2F', { path: '/a/b', query: 'x=1&y=%2F' }],
  ['/a?', { path: '/a', query: '' }],
  ['/a?b?c', { path: '/a', query: 'b?c' }],
  ['/file.txt', { path: '/file.txt' }],
  ['/.well-known/x', { path: '/.well-known/x' }],
  ['/a/...', { path: '/a/...' }],
  ["/a:b@c!$&'()*+,=", { path: "/a:b@c!$&'()*+,=" }],
  // Dot segments and slashes.
  ['/a/./b', { path: '/a/b' }],
  ['/a/./', { path: '/a/' }],
  ['/a/b/..', { path: '/a/' }],
  ['/a/b/../c', { path: '/a/c' }],
  ['/a/..', { path: '/' }],
  ['/..', { code: 'path_traversal' }],
  ['/a/../..', { code: 'path_traversal' }],
  ['//a///b//', { path: '/a/b/' }],
  ['/a/.%2E/b', { path: '/b' }],
  // Escapes.
  ['/%7Euser/%41%2d%5f', { path: '/~user/A-_' }],
  ['/a%2fb', { path: '/a%2Fb', sep: true }],
  ['/a%5cb', { path: '/a%5Cb', sep: true }],
  ['/a%20b%3b%25', { path: '/a%20b%3B%25' }],
  ['/%252F', { path: '/%252F' }],
  ['/caf%C3%A9', { path: '/caf%C3%A9' }],
  ['/%F0%9F%98%80', { path: '/%F0%9F%98%80' }],
  ['/a%2', { code: 'path_invalid_encoding' }],
  ['/a%zz', { code: 'path_invalid_encoding' }],
  ['/a%u002e', { code: 'path_invalid_encoding' }],
  ['/%C3', { code: 'path_invalid_encoding' }],
  ['/%C3/%A9', { code: 'path_invalid_encoding' }],
  ['/%C3a%A9', { code: 'path_invalid_encoding' }],
  ['/%ED%A0%80', { code: 'path_invalid_encoding' }],
  // Forbidden characters.
  ['/a\tb', { code: 'path_invalid_character' }],
  ['/a%0A', { code: 'path_invalid_character' }],
  ['/a%7f', { code: 'path_invalid_character' }],
  ['/a\x7f', { code: 'path_invalid_character' }],
  ['/a b', { code: 'path_invalid_character' }],
  ['/caf\u00e9', { code: 'path_invalid_character' }],
  ['/a;jsessionid=1', { code: 'path_invalid_character' }],
  ['/a\\b', { code: 'path_invalid_character' }],
  // Request-target forms.
  ['http://Example.COM:8080/a/../b?q', { path: '/b', query: 'q', host: 'example.com' }],
  ['HTTPS://example.com', { path: '/', host: 'example.com' }],
  ['http://example.com?q=1', { path: '/', query: 'q=1', host: 'example.com' }],
  ['http://[::1]:8080/x', { path: '/x', host: '[::1]' }],
  ['http://user@example.com/', { code: 'invalid_request_target' }],
  ['http:///x', { code: 'invalid_request_target' }],
  ['ftp://example.com/x', { code: 'invalid_request_target' }],
  ['*', { code: 'invalid_request_target' }],
  ['example.com:443', { code: 'invalid_request_target' }],
  ['', { code: 'invalid_request_target' }],
  ['a/b', { code: 'invalid_request_target' }],
  ['/a#frag', { code: 'invalid_request_target' }],
  ['/a?x#frag', { code: 'invalid_request_target' }],
];

for (const [raw, expect] of cases) {
  test(`parseTarget(${JSON.stringify(raw)})`, () => {
    const t = parseTarget(raw);
    if ('code' in expect) {
      assert.equal(t.ok, false);
      if (!t.ok) assert.equal(t.code, expect.code);
      return;
    }
    assert.ok(t.ok, t.ok ? '' : `refused: ${t.code}`);
    assert.equal(t.path, expect.path);
    assert.equal(t.query, expect.query ?? '');
    assert.equal(t.hasEncodedSeparator, expect.sep ?? false);
    assert.equal(t.absoluteHost, expect.host);
  });
}

// Attempts to reach the protected `/admin/*` while being routed elsewhere. Each one must end up on
// the admin route, be refused here, or carry hasEncodedSeparator (the gateway then refuses with
// path_encoded_separator unless the matched route opted in).
const table = new RouteTable([
  { name: 'admin', path: '/admin/*', value: 'admin' },
  { name: 'public', path: '/public/*', value: 'public' },
  { name: 'catch-all', path: '/*', value: 'catch-all' },
]);

type Bypass = { route: string; path: string; host?: string } | { code: ErrorCode } | { separator: string };

const bypasses: [raw: string, expect: Bypass][] = [
  ['/admin/../admin', { route: 'admin', path: '/admin' }],
  ['/%61dmin', { route: 'admin', path: '/admin' }],
  ['//admin', { route: 'admin', path: '/admin' }],
  ['/admin;x', { code: 'path_invalid_character' }],
  ['/./admin', { route: 'admin', path: '/admin' }],
  ['/public/../admin', { route: 'admin', path: '/admin' }],
  ['/%2e%2e/admin', { code: 'path_traversal' }],
  ['/public/%2e%2e/admin', { route: 'admin', path: '/admin' }],
  ['/public/.%2E/admin/x', { route: 'admin', path: '/admin/x' }],
  // Routing is case-sensitive (paths are, per RFC 3986): `/ADMIN` is a different path and goes to
  // the catch-all. An upstream that folds case needs its own route for it or must be case-sensitive.
  ['/ADMIN', { route: 'catch-all', path: '/ADMIN' }],
  ['/admin%2fx', { separator: '/admin%2Fx' }],
  ['/admin%00', { code: 'path_invalid_character' }],
  ['/admin\\..\\x', { code: 'path_invalid_character' }],
  ['/%c0%ae%c0%ae/admin', { code: 'path_invalid_encoding' }],
  ['/admin/', { route: 'admin', path: '/admin/' }],
  ['/admin/.', { route: 'admin', path: '/admin/' }],
  ['/admin/x/..', { route: 'admin', path: '/admin/' }],
  ['http://evil/admin', { route: 'admin', path: '/admin', host: 'evil' }],
  ['/adm%69n/secret', { route: 'admin', path: '/admin/secret' }],
  ['/public/..%2fadmin', { separator: '/public/..%2Fadmin' }],
  ['/admin%2F..%2F', { separator: '/admin%2F..%2F' }],
  ['/public%2F..%2Fadmin', { separator: '/public%2F..%2Fadmin' }],
  ['/public/%2e%2e%2fadmin', { separator: '/public/..%2Fadmin' }],
  ['/%2561dmin', { route: 'catch-all', path: '/%2561dmin' }],
  ['/admin%09', { code: 'path_invalid_character' }],
  ['/admin\u0130', { code: 'path_invalid_character' }],
];

for (const [raw, expect] of bypasses) {
  test(`bypass attempt ${JSON.stringify(raw)}`, () => {
    const t = parseTarget(raw);
    if ('code' in expect) {
      assert.equal(t.ok ? 'accepted' : t.code, expect.code);
      return;
    }
    assert.ok(t.ok);
    if ('separator' in expect) {
      assert.equal(t.path, expect.separator);
      assert.equal(t.hasEncodedSeparator, true);
      return;
    }
    assert.equal(t.path, expect.path);
    assert.equal(t.hasEncodedSeparator, false);
    assert.equal(t.absoluteHost, expect.host);
    const m = table.match(t.absoluteHost ?? 'gatehouse.test', 'GET', t.path);
    assert.equal(m.kind === 'matched' ? m.route.name : m.kind, expect.route);
  });
}

test('the fast path returns the input string itself', () => {
  const raw = '/api/v1/users/42/profile';
  const t = parseTarget(`${raw}?a=b`);
  assert.ok(t.ok);
  assert.equal(t.path, raw);
  assert.equal(t.query, 'a=b');
});
