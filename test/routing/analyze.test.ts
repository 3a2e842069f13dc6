import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeRoutes, type RouteWarning } from '../../src/routing/analyze.js';
import { RouteTable, type RouteSpec } from '../../src/routing/table.js';

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
  // Disjoint methods are no ambiguity; but on /y/z `/y/:b` decides, so GET /y/z is a 405 (below).
  assert.deepEqual(brief(disjoint), ['unreachable get-only<-post-only']);
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

/** What the gateway's own table answers, to check a warning against the real behaviour. */
function answer(routes: readonly RouteSpec<unknown>[], method: string, path: string, host = 'x.invalid'): string {
  const r = new RouteTable(routes).match(host, method, path);
  return r.kind === 'matched' ? r.route.name : r.kind === 'method_not_allowed' ? `405 ${r.allow.join(',')}` : '404';
}

test('an exact route taking only POST makes a prefix route unreachable for the other methods on that path (405)', () => {
  const routes = [route('create-order', '/orders', { methods: ['POST'] }), route('orders', '/orders/*')];
  // The behaviour being warned about, as the gateway has it.
  assert.equal(answer(routes, 'GET', '/orders'), '405 POST');
  assert.equal(answer(routes, 'GET', '/orders/7'), 'orders');
  const ws = analyzeRoutes(routes);
  assert.deepEqual(brief(ws), ['unreachable orders<-create-order']);
  assert.equal(
    ws[0]?.message,
    'route "orders" (/orders/*, any method) is unreachable for some methods: GET, HEAD, PUT, PATCH, DELETE, OPTIONS /orders answer 405 (Allow: POST) ' +
      'because the more specific route "create-order" (/orders, POST) decides that path. The most specific pattern that matches a path decides its methods: ' +
      'a method it does not take is refused there, never passed to a less specific route. If "orders" should serve them, add a route for "/orders" that takes those methods',
  );
});

test('the suggested fix (a route for the exact path taking the other methods) silences it; same or method-less routes never warn', () => {
  const fixed = [route('create-order', '/orders', { methods: ['POST'] }), route('list-orders', '/orders'), route('orders', '/orders/*')];
  assert.equal(answer(fixed, 'GET', '/orders'), 'list-orders');
  assert.deepEqual(brief(analyzeRoutes(fixed)), []);
  assert.deepEqual(brief(analyzeRoutes([route('a', '/a', { methods: ['GET'] }), route('a-all', '/a/*', { methods: ['GET'] })])), []);
  assert.deepEqual(brief(analyzeRoutes([route('a', '/a/:id'), route('a-all', '/a/*', { methods: ['POST'] })])), []);
});

test('only the methods that really answer 405 are named: GET implies HEAD on both sides', () => {
  const routes = [route('read', '/r/:id', { methods: ['GET'] }), route('write', '/r/*', { methods: ['GET', 'PUT'] })];
  assert.equal(answer(routes, 'HEAD', '/r/1'), 'read');
  assert.equal(answer(routes, 'PUT', '/r/1'), '405 GET,HEAD');
  const ws = analyzeRoutes(routes);
  assert.deepEqual(brief(ws), ['unreachable write<-read']);
  assert.match(ws[0]!.message, /: PUT \/r\/x answers 405 \(Allow: GET, HEAD\) because the more specific route "read" \(\/r\/:id, GET\)/);
});

test('a more specific host decides before any path on a less specific host', () => {
  const routes = [
    route('api-items', '/items', { host: 'api.example.com', methods: ['GET'] }),
    route('items', '/items/*', { methods: ['GET', 'POST'] }),
    route('tenant-items', '/items/*', { host: '*.example.com', methods: ['DELETE'] }),
  ];
  assert.equal(answer(routes, 'POST', '/items', 'api.example.com'), '405 GET,HEAD');
  assert.equal(answer(routes, 'POST', '/items/1', 'eu.example.com'), '405 DELETE');
  const ws = analyzeRoutes(routes);
  assert.deepEqual(brief(ws), ['unreachable items<-api-items, tenant-items', 'unreachable tenant-items<-api-items']);
  assert.match(ws[0]!.message, /POST \/items on host "api\.example\.com" answers 405 \(Allow: GET, HEAD\)/);
  assert.match(ws[0]!.message, /GET, HEAD, POST \/items on host "\*\.example\.com" answer 405 \(Allow: DELETE\) because the more specific route "tenant-items"/);
});

test('many routes above one catch-all give one warning that counts the rest', () => {
  const routes = [route('public', '/*')];
  for (let i = 0; i < 6; i++) routes.push(route(`get-${i}`, `/s${i}`, { methods: ['GET'] }));
  const ws = analyzeRoutes(routes);
  assert.deepEqual(brief(ws), ['unreachable public<-get-0, get-1, get-2, …']);
  assert.match(ws[0]!.message, /and 3 more routes like these\. /);
  assert.match(ws[0]!.message, /add a route for each of those patterns that takes those methods$/);
});
