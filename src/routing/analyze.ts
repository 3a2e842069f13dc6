// Load-time lint of a route list. Mirrors the precedence of RouteTable (see table.ts): it reports
// routes that can never win, pairs whose winner is decided only by the per-segment tie-break, and
// routes that a more specific route makes unreachable for some methods (the 405 rule). The last is
// asked of a real RouteTable, so it cannot drift from what the gateway does.
import { parseHostPattern, parsePathPattern, type PathPattern, type Segment } from './pattern.js';
import { example, Unreachable, widerHosts, type ParsedRoute } from './reachable.js';
import type { RouteSpec } from './table.js';

/** A finding about the route list; `other` names the route(s) responsible (comma-separated). */
export interface RouteWarning {
  /**
   * `shadowed`: never matches. `overlap`: the winner is decided by the tie-break only. `unreachable`:
   * some methods of the route never reach it on some paths, because a more specific pattern decides
   * those paths and answers 405.
   */
  readonly kind: 'shadowed' | 'overlap' | 'unreachable';
  readonly route: string;
  readonly other: string;
  readonly message: string;
}

type Parsed = ParsedRoute;

interface PNode {
  readonly statics: Map<string, PNode>;
  param: PNode | undefined;
  readonly exact: Parsed[];
  readonly wild: Parsed[];
}

const newNode = (): PNode => ({ statics: new Map(), param: undefined, exact: [], wild: [] });
const quote = (names: readonly string[]): string => names.map((n) => `"${n}"`).join(', ');
const hostText = (host: string): string => (host === '' ? 'any host' : `host "${host}"`);
/** `host` or `host ("api.example.com")`, to read as "the same host, path pattern ...". */
const sameHost = (host: string): string => (host === '' ? 'host' : `host ("${host}")`);

/** Routes that can never match (shadowed by an identical earlier pattern for the same host/methods, or by a set of routes covering all its methods) and ambiguous overlaps (two patterns that both match some path where the winner is decided only by the static>param>wildcard tie-break, e.g. `/:a/b` vs `/a/:b`, or same shape with different param names `/u/:id` vs `/u/:name`). */
export function analyzeRoutes(routes: readonly RouteSpec<unknown>[]): RouteWarning[] {
  const parsed = routes.map((spec, index): Parsed => {
    const listed = spec.methods;
    const methods = listed === undefined ? undefined : new Set(listed.includes('GET') ? [...listed, 'HEAD'] : listed);
    return { index, spec, host: parseHostPattern(spec.name, spec.host).key, pattern: parsePathPattern(spec.name, spec.path), methods };
  });
  const warnings: RouteWarning[] = [];
  const live = findShadowed(parsed, warnings);
  const unreachable = new Unreachable(routes, live);
  findOverlaps(live, warnings, unreachable);
  return [...warnings, ...unreachable.warnings()];
}

/** Same host and shape: the table takes the first route listing the method, else the first method-less one. */
function findShadowed(parsed: readonly Parsed[], warnings: RouteWarning[]): Parsed[] {
  const groups = new Map<string, { any: Parsed | undefined; listers: Map<string, Parsed> }>();
  const live: Parsed[] = [];
  for (const r of parsed) {
    const key = `${r.host}\0${r.pattern.shape}`;
    let group = groups.get(key);
    if (group === undefined) groups.set(key, (group = { any: undefined, listers: new Map() }));
    const warning = r.spec.methods === undefined ? shadowedAny(r, group.any) : shadowedListed(r, group.listers);
    if (warning !== undefined) {
      warnings.push(warning);
      continue;
    }
    live.push(r);
    if (r.spec.methods === undefined) group.any = r;
    else for (const m of r.spec.methods) if (!group.listers.has(m)) group.listers.set(m, r);
  }
  return live;
}

function shadowedAny(r: Parsed, earlier: Parsed | undefined): RouteWarning | undefined {
  if (earlier === undefined) return undefined;
  const why = `route "${earlier.spec.name}" has the same ${sameHost(r.host)}, path pattern ${patternOf(r, [earlier])} and methods (any)`;
  return shadowed(r, [earlier], `${why}; remove one or make it more specific`);
}

function shadowedListed(r: Parsed, listers: ReadonlyMap<string, Parsed>): RouteWarning | undefined {
  const listed = r.spec.methods ?? [];
  const by = new Set<Parsed>();
  for (const m of listed) {
    const earlier = listers.get(m);
    if (earlier === undefined) return undefined;
    by.add(earlier);
  }
  const covering = [...by].sort((x, y) => x.index - y.index);
  const first = covering[0] as Parsed;
  const methods = listed.join(', ');
  const pattern = patternOf(r, covering);
  let why: string;
  if (covering.length > 1) {
    why = `routes ${quote(covering.map((p) => p.spec.name))} have the same ${sameHost(r.host)} and path pattern ${pattern} and together take all its methods (${methods}); remove it or drop those methods from the earlier routes`;
  } else if (new Set(first.spec.methods).size === new Set(listed).size) {
    why = `route "${first.spec.name}" has the same ${sameHost(r.host)}, path pattern ${pattern} and methods (${methods}); remove one or make it more specific`;
  } else {
    why = `route "${first.spec.name}" has the same ${sameHost(r.host)} and path pattern ${pattern} and already takes all its methods (${methods}); remove one or make it more specific`;
  }
  return shadowed(r, covering, why);
}

function shadowed(r: Parsed, by: readonly Parsed[], why: string): RouteWarning {
  const other = by.map((p) => p.spec.name).join(', ');
  return { kind: 'shadowed', route: r.spec.name, other, message: `route "${r.spec.name}" can never match: ${why}` };
}

/** `"/u/:id"`, noting when an earlier route spells the same shape differently (`/u/:name`, `/u/`). */
function patternOf(r: Parsed, by: readonly Parsed[]): string {
  const spellings = by.map((p) => p.spec.path).filter((p) => p !== r.spec.path);
  return spellings.length === 0 ? `"${r.spec.path}"` : `"${r.spec.path}" (written ${quote([...new Set(spellings)])} there)`;
}

/**
 * Finds overlapping pairs through a pattern trie, so the cost follows the overlaps, not n². Pairs on
 * the same host are checked for ambiguity; every pair, across hosts too, for methods lost to a 405.
 */
function findOverlaps(live: readonly Parsed[], warnings: RouteWarning[], unreachable: Unreachable): void {
  const roots = new Map<string, PNode>();
  for (const r of live) {
    let node = roots.get(r.host);
    if (node === undefined) roots.set(r.host, (node = newNode()));
    for (const seg of r.pattern.segments) node = seg.kind === 'param' ? (node.param ??= newNode()) : child(node, seg.value);
    (r.pattern.wildcard ? node.wild : node.exact).push(r);
  }
  for (const r of live) {
    const others: Parsed[] = [];
    collect(roots.get(r.host) ?? newNode(), r.pattern, 0, others);
    for (const o of others) {
      // Each pair is found from both sides; report it once, in config order.
      if (o.index <= r.index) continue;
      unreachable.check(r, o);
      unreachable.check(o, r);
      if (!methodsIntersect(r.methods, o.methods)) continue;
      const warning = classify(r, o);
      if (warning !== undefined) warnings.push(warning);
    }
    // Less specific host buckets that also serve r's hosts: there r's bucket is tried first.
    for (const key of widerHosts(r.host)) {
      const root = roots.get(key);
      if (root === undefined) continue;
      const wider: Parsed[] = [];
      collect(root, r.pattern, 0, wider);
      for (const o of wider) unreachable.check(r, o);
    }
  }
}

function child(node: PNode, value: string): PNode {
  let next = node.statics.get(value);
  if (next === undefined) node.statics.set(value, (next = newNode()));
  return next;
}

/** Every pattern in the trie that matches at least one path `p` also matches. */
function collect(node: PNode, p: PathPattern, i: number, out: Parsed[]): void {
  if (i === p.segments.length) {
    if (p.wildcard) collectAll(node, out);
    else pushAll(out, node.exact, node.wild);
    return;
  }
  // A `*` ending here covers whatever p has left.
  pushAll(out, node.wild);
  const seg = p.segments[i] as Segment;
  if (seg.kind === 'static') {
    const next = node.statics.get(seg.value);
    if (next !== undefined) collect(next, p, i + 1, out);
  } else {
    for (const next of node.statics.values()) collect(next, p, i + 1, out);
  }
  if (node.param !== undefined) collect(node.param, p, i + 1, out);
}

function collectAll(node: PNode, out: Parsed[]): void {
  pushAll(out, node.exact, node.wild);
  for (const next of node.statics.values()) collectAll(next, out);
  if (node.param !== undefined) collectAll(node.param, out);
}

// Not push(...xs): spreading a large list overflows the argument limit.
function pushAll(out: Parsed[], ...lists: readonly Parsed[][]): void {
  for (const list of lists) for (const p of list) out.push(p);
}

function methodsIntersect(a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined): boolean {
  if (a === undefined || b === undefined) return true;
  for (const m of a) if (b.has(m)) return true;
  return false;
}

/** Precedence rank at segment i: static 2 > param 1 > covered by the trailing `*` 0. */
function rank(p: PathPattern, i: number): number {
  const seg = p.segments[i];
  return seg === undefined ? 0 : seg.kind === 'static' ? 2 : 1;
}

/** Two overlapping patterns: fine when one is at least as specific at every segment, else ambiguous. */
function classify(a: Parsed, b: Parsed): RouteWarning | undefined {
  const pa = a.pattern;
  const pb = b.pattern;
  if (pa.shape === pb.shape) return sameShape(a, b);
  const n = Math.max(pa.segments.length, pb.segments.length);
  let aWinsAt = -1;
  let bWinsAt = -1;
  for (let i = 0; i < n; i++) {
    const d = rank(pa, i) - rank(pb, i);
    if (d > 0 && aWinsAt === -1) aWinsAt = i;
    if (d < 0 && bWinsAt === -1) bWinsAt = i;
  }
  if (aWinsAt === -1 || bWinsAt === -1) return undefined;
  const [winner, loser, at] = aWinsAt < bWinsAt ? [a, b, aWinsAt] : [b, a, bWinsAt];
  const message =
    `routes "${a.spec.name}" (${a.spec.path}) and "${b.spec.name}" (${b.spec.path}) on ${hostText(a.host)} both match paths such as "${example(pa, pb)}"; ` +
    `"${winner.spec.name}" wins only because segment ${at + 1} is tried static before :param before *, although "${loser.spec.name}" is more specific further on. ` +
    'Make the patterns disjoint (e.g. a distinct static segment) or merge them';
  return { kind: 'overlap', route: b.spec.name, other: a.spec.name, message };
}

function sameShape(a: Parsed, b: Parsed): RouteWarning | undefined {
  const names = (p: PathPattern): string => p.segments.map((s) => (s.kind === 'param' ? s.name : '')).join('/');
  if (names(a.pattern) === names(b.pattern)) return undefined;
  const message =
    `routes "${a.spec.name}" (${a.spec.path}) and "${b.spec.name}" (${b.spec.path}) on ${hostText(a.host)} match the same paths with different parameter names; ` +
    'which one (and so which names) a request gets depends on its method and on route order. Use the same parameter names';
  return { kind: 'overlap', route: b.spec.name, other: a.spec.name, message };
}
