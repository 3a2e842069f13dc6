import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeRoutes, type RouteWarning } from '../../src/routing/analyze.js';
import type { RouteSpec } from '../../src/routing/table.js';

type Extra = { host?: string; methods?: readonly string[] };
const route = (name: string, path: string, extra: Extra = {}): RouteSpec<unknown> => ({ name, path, value: undefined, ...extra });
/** Warnings as `kind route<-other`, the stable part worth asserting on. */
const brief = (ws: readonly RouteWarning[]): string[] => ws.map((w) => `${w.kind} ${w.route}<-${w.other}`);

test('an identical later route is shadowed, and the message says why and how to fix', () => {
  const ws = analyzeRoutes([route('a', '/x/:id', { methods: ['GET'] }), route('b', '/x/:id', { methods: ['GET'] })]);
  assert.deepEqual(brief(ws), ['shadowed b<-a']);
  assert.equal(
    ws[0]?.message,
    'route "b" can never match: route "a" has the same host, path pattern "/x/:id" and methods (GET); remove one or make it more specific',
  );
});

test('shadowing ignores parameter names and a trailing slash, and names the host', () => {
  const ws = analyzeRoutes([
    route('a', '/u/:id', { host: 'API.example.com' }),
    route('b', '/u/:name', { host: 'api.example.com' }),
    route('c', '/v'),
    route('d', '/v/'),
  ]);
  assert.deepEqual(brief(ws), ['shadowed b<-a', 'shadowed d<-c']);
  assert.match(ws[0]?.message ?? '', /same host \("api\.example\.com"\), path pattern "\/u\/:name" \(written "\/u\/:id" there\)/);
});

test('a route whose methods are all taken by earlier routes is shadowed', () => {
  const ws = analyzeRoutes([
    route('get', '/r', { methods: ['GET'] }),
    route('post', '/r', { methods: ['POST'] }),
    route('both', '/r', { methods: ['POST', 'GET'] }),
    route('wide', '/s', { methods: ['GET', 'POST', 'PUT'] }),
    route('narrow', '/s', { methods: ['PUT'] }),
  ]);
  assert.deepEqual(brief(ws), ['shadowed both<-get, post', 'shadowed narrow<-wide']);
  assert.match(ws[0]?.message ?? '', /routes "get", "post" .* together take all its methods \(POST, GET\)/);
  assert.match(ws[1]?.message ?? '', /route "wide" .* already takes all its methods \(PUT\)/);
});

test('not shadowed: method-specific after any-method, explicit HEAD after GET, other host, other methods', () => {
  const ws = analyzeRoutes([
    route('any', '/x'),
    route('get', '/x', { methods: ['GET'] }),
    route('head', '/x', { methods: ['HEAD'] }),
    route('post', '/x', { methods: ['POST'] }),
    route('other-host', '/x', { host: 'a.example.com' }),
    route('wild-host', '/x', { host: '*.example.com' }),
  ]);
  assert.deepEqual(brief(ws), []);
});

test('overlaps decided only by the static > param > * tie-break are reported', () => {
  const ws = analyzeRoutes([
    route('p1', '/:a/b'),
    route('p2', '/a/:b'),
    route('q1', '/c/:x/d'),
    route('q2', '/c/e/*'),
  ]);
  assert.deepEqual(brief(ws), ['overlap p2<-p1', 'overlap q2<-q1']);
  assert.match(ws[0]?.message ?? '', /"p1" \(\/:a\/b\) and "p2" \(\/a\/:b\) on any host both match paths such as "\/a\/b"; "p2" wins only because segment 1/);
  assert.match(ws[1]?.message ?? '', /such as "\/c\/e\/d"; "q2" wins only because segment 2 .* "q1" is more specific further on/);
});

test('same shape with different parameter names overlaps when the methods intersect', () => {
  const ws = analyzeRoutes([
    route('by-id', '/u/:id', { methods: ['GET'] }),
    route('by-name', '/u/:name'),
    route('read', '/v/:id', { methods: ['GET'] }),
    route('write', '/v/:key', { methods: ['POST'] }),
  ]);
  assert.deepEqual(brief(ws), ['overlap by-name<-by-id']);
  assert.match(ws[0]?.message ?? '', /different parameter names.*Use the same parameter names/);
});

test('no warning for normal specificity: prefix vs exact, param vs static, nested prefixes, disjoint methods or hosts', () => {
  const ws = analyzeRoutes([
    route('all', '/*'),
    route('root', '/'),
    route('a-prefix', '/a/*'),
    route('a', '/a'),
    route('a-b', '/a/b'),
    route('a-param', '/a/:x'),
    route('a-b-prefix', '/a/b/*'),
    route('a-b-c', '/a/b/c'),
  ]);
  assert.deepEqual(brief(ws), []);
  const disjoint = analyzeRoutes([
    route('get-only', '/:a/z', { methods: ['GET'] }),
    route('post-only', '/y/:b', { methods: ['POST'] }),
    route('host-a', '/:a/w', { host: 'a.example.com' }),
    route('host-b', '/w/:b', { host: 'b.example.com' }),
  ]);
  assert.deepEqual(brief(disjoint), []);
});

test('invalid patterns throw with the route name', () => {
  assert.throws(() => analyzeRoutes([route('broken', '/a/*/b')]), /route "broken"/);
});

test('analysis of 10,000 routes with few overlaps stays linear-ish and finds the planted ones', () => {
  const routes: RouteSpec<unknown>[] = [];
  for (let i = 0; i < 10_000; i++) routes.push(route(`r${i}`, i % 2 === 0 ? `/api/s${i}/:id` : `/api/s${i}/*`, { methods: ['GET'] }));
  routes.push(route('dup', '/api/s0/:other', { methods: ['GET'] }));
  routes.push(route('cross', '/api/:svc/x', { methods: ['GET'] }));
  const ws = analyzeRoutes(routes);
  assert.deepEqual(brief(ws).filter((w) => w.startsWith('shadowed')), ['shadowed dup<-r0']);
  // `/api/:svc/x` is ambiguous against every `/api/sN/:id`, and against every `/api/sN/*`.
  assert.equal(ws.filter((w) => w.kind === 'overlap').length, 10_000);
});
