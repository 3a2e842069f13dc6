import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteTable, normalizeHost, type MatchResult, type RouteSpec } from '../../src/routing/table.js';

type Spec = RouteSpec<string>;
const route = (name: string, path: string, extra: Partial<Spec> = {}): Spec => ({ name, path, value: name, ...extra });

/** `name` of the matched route, or the result kind (plus the allow list for a 405). */
function who(r: MatchResult<string>): string {
  if (r.kind === 'matched') return r.route.name;
  return r.kind === 'method_not_allowed' ? `405 ${r.allow.join(',')}` : '404';
}

const specificity = [
  route('root', '/'),
  route('all', '/*'),
  route('users', '/users'),
  route('user', '/users/:id'),
  route('me', '/users/me'),
  route('user-files', '/users/:id/files/*'),
  route('files', '/files/*'),
  route('a-x-c', '/a/:x/c'),
  route('a-b-star', '/a/b/*'),
];

test('static beats :param beats *, with backtracking', () => {
  const t = new RouteTable(specificity);
  const cases: [string, string][] = [
    ['/', 'root'],
    ['/users', 'users'],
    ['/users/me', 'me'],
    ['/users/42', 'user'],
    ['/users/42/files', 'user-files'],
    ['/users/me/files/a/b', 'user-files'],
    ['/users/42/other', 'all'],
    ['/files', 'files'],
    ['/files/', 'files'],
    ['/files/x/y', 'files'],
    ['/filesx', 'all'],
    ['/nope/deep/path', 'all'],
    // Static `b` is tried before `:x` at segment 2, so the prefix route wins.
    ['/a/b/c', 'a-b-star'],
    ['/a/z/c', 'a-x-c'],
    ['/a/b', 'a-b-star'],
    ['/a/z/d', 'all'],
  ];
  for (const [path, expected] of cases) assert.equal(who(t.match('h', 'GET', path)), expected, path);
});

test('the result does not depend on insertion order when specificity differs', () => {
  const forward = new RouteTable(specificity);
  const backward = new RouteTable([...specificity].reverse());
  const rotated = new RouteTable([...specificity.slice(4), ...specificity.slice(0, 4)]);
  for (const path of ['/', '/users', '/users/me', '/users/1', '/users/1/files/x', '/a/b/c', '/a/q/c', '/zzz']) {
    const expected = who(forward.match('h', 'GET', path));
    assert.equal(who(backward.match('h', 'GET', path)), expected, path);
    assert.equal(who(rotated.match('h', 'GET', path)), expected, path);
  }
});

test('params are captured in their normalized-encoded form', () => {
  const t = new RouteTable([route('f', '/orgs/:org/repos/:repo/*'), route('u', '/u/:__proto__')]);
  const r = t.match('h', 'GET', '/orgs/acme%20inc/repos/caf%C3%A9/tree/x');
  assert.equal(r.kind, 'matched');
  if (r.kind === 'matched') assert.deepEqual({ ...r.params }, { org: 'acme%20inc', repo: 'caf%C3%A9' });
  const p = t.match('h', 'GET', '/u/x');
  assert.ok(p.kind === 'matched');
  assert.equal(p.params['__proto__'], 'x');
  assert.equal(Object.getPrototypeOf(p.params), null);
  const none = new RouteTable([route('s', '/s')]).match('h', 'GET', '/s');
  assert.ok(none.kind === 'matched');
  assert.deepEqual({ ...none.params }, {});
});

test('a :param never matches an empty segment', () => {
  const t = new RouteTable([route('user', '/users/:id')]);
  assert.equal(who(t.match('h', 'GET', '/users/')), '404');
  assert.equal(who(t.match('h', 'GET', '/users')), '404');
});

test('one trailing slash is ignored, so /admin/ cannot fall through to a catch-all', () => {
  const t = new RouteTable([route('admin', '/admin', { methods: ['GET'] }), route('public', '/*'), route('slash', '/x/')]);
  assert.equal(who(t.match('h', 'GET', '/admin/')), 'admin');
  assert.equal(who(t.match('h', 'GET', '/admin')), 'admin');
  assert.equal(who(t.match('h', 'GET', '/x')), 'slash');
  assert.equal(who(t.match('h', 'GET', '/x/')), 'slash');
  assert.equal(who(t.match('h', 'GET', '/admin/x')), 'public');
});

test('host precedence: exact > longest wildcard > wildcard > any host', () => {
  const t = new RouteTable([
    route('any', '/*'),
    route('wild', '/*', { host: '*.example.com' }),
    route('wild-deep', '/*', { host: '*.eu.example.com' }),
    route('exact', '/*', { host: 'API.example.com:443' }),
  ]);
  assert.equal(who(t.match('api.example.com', 'GET', '/')), 'exact');
  assert.equal(who(t.match('x.eu.example.com', 'GET', '/')), 'wild-deep');
  assert.equal(who(t.match('a.b.eu.example.com', 'GET', '/')), 'wild-deep');
  assert.equal(who(t.match('eu.example.com', 'GET', '/')), 'wild');
  assert.equal(who(t.match('a.b.example.com', 'GET', '/')), 'wild');
  assert.equal(who(t.match('example.com', 'GET', '/')), 'any');
  assert.equal(who(t.match('.example.com', 'GET', '/')), 'any');
  assert.equal(who(t.match('other.org', 'GET', '/')), 'any');
  assert.equal(who(t.match('', 'GET', '/')), 'any');
});

test('host decides before path; a less specific host bucket is searched when the first has no match', () => {
  const t = new RouteTable([route('api-users', '/users/*', { host: 'api.example.com' }), route('health', '/health')]);
  assert.equal(who(t.match('api.example.com', 'GET', '/users/1')), 'api-users');
  assert.equal(who(t.match('api.example.com', 'GET', '/health')), 'health');
  assert.equal(who(t.match('www.example.com', 'GET', '/users/1')), '404');
  const m = new RouteTable([route('api-read', '/data', { host: 'api.example.com', methods: ['GET'] }), route('any-host', '/*')]);
  assert.equal(who(m.match('api.example.com', 'GET', '/data')), 'api-read');
  // Fail closed: the host-specific /data decides its methods; DELETE does not fall to the catch-all.
  assert.equal(who(m.match('api.example.com', 'DELETE', '/data')), '405 GET,HEAD');
  assert.equal(who(m.match('api.example.com', 'DELETE', '/other')), 'any-host');
});

test('methods: listing beats any-method; the most specific matching pattern decides (405, no fallback)', () => {
  const t = new RouteTable([
    route('any', '/items/:id'),
    route('get', '/items/:id', { methods: ['GET'] }),
    route('write', '/docs/:id', { methods: ['PUT', 'DELETE'] }),
    route('read', '/docs/*', { methods: ['GET'] }),
    route('post-only', '/forms', { methods: ['POST'] }),
  ]);
  assert.equal(who(t.match('h', 'GET', '/items/1')), 'get');
  assert.equal(who(t.match('h', 'HEAD', '/items/1')), 'get');
  assert.equal(who(t.match('h', 'POST', '/items/1')), 'any');
  assert.equal(who(t.match('h', 'PROPFIND', '/items/1')), 'any');
  assert.equal(who(t.match('h', 'DELETE', '/docs/1')), 'write');
  // No route at /docs/:id takes GET: 405, even though the less specific /docs/* would (fail closed).
  assert.equal(who(t.match('h', 'GET', '/docs/1')), '405 PUT,DELETE');
  assert.equal(who(t.match('h', 'GET', '/docs/1/2')), 'read');
  assert.equal(who(t.match('h', 'POST', '/docs/1')), '405 PUT,DELETE');
  assert.equal(who(t.match('h', 'GET', '/forms')), '405 POST');
  assert.equal(who(t.match('h', 'GET', '/nothing')), '404');
});

test('HEAD is taken by GET routes, but an explicit HEAD route wins regardless of order', () => {
  const t = new RouteTable([route('get', '/x', { methods: ['GET'] }), route('head', '/x', { methods: ['HEAD'] })]);
  assert.equal(who(t.match('h', 'HEAD', '/x')), 'head');
  assert.equal(who(t.match('h', 'GET', '/x')), 'get');
  assert.equal(who(t.match('h', 'POST', '/x')), '405 GET,HEAD');
});

test('an exact tie on pattern and method goes to the first route', () => {
  const t = new RouteTable([route('first', '/u/:id'), route('second', '/u/:name')]);
  const r = t.match('h', 'GET', '/u/7');
  assert.ok(r.kind === 'matched');
  assert.equal(r.route.name, 'first');
  assert.deepEqual({ ...r.params }, { id: '7' });
});

test('invalid patterns are rejected at construction with the route name', () => {
  const bad: [string, string | undefined][] = [
    ['no-slash', undefined], ['/a/*/b', undefined], ['/a*', undefined], ['/a//b', undefined], ['/:', undefined],
    ['/:a/:a', undefined], ['/%61', undefined], ['/a/../b', undefined], ['/a;b', undefined], ['/a?b', undefined],
    ['/ok', '*'], ['/ok', 'a.*.com'], ['/ok', '*.'],
  ];
  for (const [path, host] of bad) {
    assert.throws(() => new RouteTable([route('bad-one', path, host === undefined ? {} : { host })]), /route "bad-one"/, `${path} ${host}`);
  }
});

test('normalizeHost', () => {
  const cases: [string | undefined, string][] = [
    [undefined, ''], ['', ''], ['Example.COM', 'example.com'], ['example.com:8080', 'example.com'],
    ['example.com.', 'example.com'], ['Example.com.:443', 'example.com'], ['[::1]:8080', '[::1]'], ['[::1]', '[::1]'],
    ['[2001:DB8::1]', '[2001:db8::1]'], ['127.0.0.1:80', '127.0.0.1'],
  ];
  for (const [input, expected] of cases) assert.equal(normalizeHost(input), expected, String(input));
});

test('10,000 routes build and match correctly', () => {
  const routes: Spec[] = [];
  for (let i = 0; i < 2_500; i++) {
    routes.push(route(`svc${i}-list`, `/svc${i}/items`, { methods: ['GET'] }));
    routes.push(route(`svc${i}-item`, `/svc${i}/items/:id`));
    routes.push(route(`svc${i}-files`, `/svc${i}/files/*`));
    routes.push(route(`tenant${i}`, `/t/:tenant/svc${i}`, { host: `tenant${i % 50}.example.com` }));
  }
  const t = new RouteTable(routes);
  for (const i of [0, 1, 777, 2_499]) {
    assert.equal(who(t.match('h', 'GET', `/svc${i}/items`)), `svc${i}-list`);
    assert.equal(who(t.match('h', 'POST', `/svc${i}/items`)), '405 GET,HEAD');
    const item = t.match('h', 'PATCH', `/svc${i}/items/abc`);
    assert.ok(item.kind === 'matched');
    assert.equal(item.route.name, `svc${i}-item`);
    assert.equal(item.params['id'], 'abc');
    assert.equal(who(t.match('h', 'GET', `/svc${i}/files/a/b/c`)), `svc${i}-files`);
    assert.equal(who(t.match(`tenant${i % 50}.example.com`, 'GET', `/t/acme/svc${i}`)), `tenant${i}`);
    assert.equal(who(t.match(`tenant${(i + 1) % 50}.example.com`, 'GET', `/t/acme/svc${i}`)), '404');
  }
  assert.equal(who(t.match('h', 'GET', '/svc2500/items')), '404');
});
