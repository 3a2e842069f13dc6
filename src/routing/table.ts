import { HTTP_METHODS } from './schema.js';
import { parseHostPattern, parsePathPattern } from './pattern.js';

export { normalizeHost } from './host.js';

/** One route as the table sees it: match criteria plus the compiled value the gateway attaches. */
export interface RouteSpec<T> {
  readonly name: string;
  readonly host?: string;
  readonly path: string;
  readonly methods?: readonly string[];
  readonly value: T;
}

/** Outcome of a lookup: the winning route, a 405 with what would have been accepted, or a 404. */
export type MatchResult<T> =
  | { kind: 'matched'; route: RouteSpec<T>; params: Readonly<Record<string, string>> }
  | { kind: 'method_not_allowed'; allow: readonly string[] }
  | { kind: 'not_found' };

interface Entry<T> {
  readonly spec: RouteSpec<T>;
  readonly paramNames: readonly string[];
}

/** All routes sharing one path pattern shape; method-listing routes beat method-less ones. */
class Terminal<T> {
  readonly byMethod = new Map<string, Entry<T>>();
  anyMethod: Entry<T> | undefined;

  add(entry: Entry<T>): void {
    const methods = entry.spec.methods;
    if (methods === undefined) {
      this.anyMethod ??= entry;
      return;
    }
    // First route wins on an exact tie; analyzeRoutes reports the later one as shadowed.
    for (const m of methods) if (!this.byMethod.has(m)) this.byMethod.set(m, entry);
  }

  lookup(method: string): Entry<T> | undefined {
    const listed = this.byMethod.get(method) ?? (method === 'HEAD' ? this.byMethod.get('GET') : undefined);
    return listed ?? this.anyMethod;
  }
}

interface Node<T> {
  statics: Map<string, Node<T>> | undefined;
  param: Node<T> | undefined;
  exact: Terminal<T> | undefined;
  /** Routes ending in `*` at this depth: they match this node's path and everything below it. */
  wildcard: Terminal<T> | undefined;
}

const newNode = <T>(): Node<T> => ({ statics: undefined, param: undefined, exact: undefined, wildcard: undefined });

/** Per-call state; one small object per match, no closures. */
interface Walk {
  readonly method: string;
  readonly path: string;
  /** End of the routed part of the path (a single trailing slash excluded). */
  readonly end: number;
  readonly values: string[];
  allow: Set<string> | undefined;
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});
const METHOD_ORDER: readonly string[] = HTTP_METHODS;

/**
 * Compiled routes: a segment trie per host bucket, built once. Precedence, most specific first:
 * exact host > wildcard host (longest suffix first) > any host; then, segment by segment, a static
 * segment > `:param` > trailing `*`, with backtracking. So for `/a/b/c`, `/a/b/*` beats `/a/:x/c`
 * because the static `b` is tried before `:x` at the second segment, even though `/a/:x/c` is more
 * specific later (analyzeRoutes warns about such pairs). Then a route listing the method beats one
 * without methods. The most specific pattern that matches the path decides: when none of its routes
 * takes the method the answer is 405, and the search does NOT go on to less specific patterns or
 * hosts. Fail closed: a method-restricted `/admin` never hands `DELETE /admin` to a public `/*`.
 */
export class RouteTable<T> {
  readonly #exactHosts = new Map<string, Node<T>>();
  /** Keyed by the suffix including its leading dot (`.example.com`). */
  readonly #wildcardHosts = new Map<string, Node<T>>();
  readonly #anyHost: Node<T> = newNode();

  constructor(routes: readonly RouteSpec<T>[]) {
    for (const spec of routes) this.#add(spec);
  }

  /** Find the route for an already-normalized host (normalizeHost) and path (parseTarget). */
  match(host: string, method: string, path: string): MatchResult<T> {
    let end = path.length;
    if (end > 1 && path.charCodeAt(end - 1) === 0x2f) end--;
    // The root has no segments; `end = 0` makes the walk start with nothing left to consume.
    if (end === 1) end = 0;
    const walk: Walk = { method, path, end, values: [], allow: undefined };
    const found = this.#matchHost(host, walk);
    if (found !== undefined) return { kind: 'matched', route: found.spec, params: paramsOf(found, walk.values) };
    if (walk.allow !== undefined) return { kind: 'method_not_allowed', allow: sortMethods(walk.allow) };
    return { kind: 'not_found' };
  }

  #matchHost(host: string, walk: Walk): Entry<T> | undefined {
    const exact = this.#exactHosts.get(host);
    const hit = exact && search(exact, walk, 0);
    if (hit !== undefined || walk.allow !== undefined) return hit;
    if (this.#wildcardHosts.size > 0) {
      // Left to right over the dots yields suffixes longest first; i > 0 keeps the apex out.
      for (let i = host.indexOf('.', 1); i !== -1; i = host.indexOf('.', i + 1)) {
        const bucket = this.#wildcardHosts.get(host.slice(i));
        const found = bucket && search(bucket, walk, 0);
        if (found !== undefined || walk.allow !== undefined) return found;
      }
    }
    return search(this.#anyHost, walk, 0);
  }

  #add(spec: RouteSpec<T>): void {
    const host = parseHostPattern(spec.name, spec.host);
    const pattern = parsePathPattern(spec.name, spec.path);
    let node = this.#bucket(host.kind === 'wildcard' ? this.#wildcardHosts : this.#exactHosts, host);
    const paramNames: string[] = [];
    for (const seg of pattern.segments) {
      if (seg.kind === 'param') {
        paramNames.push(seg.name);
        node = node.param ??= newNode();
      } else {
        node.statics ??= new Map();
        let child = node.statics.get(seg.value);
        if (child === undefined) node.statics.set(seg.value, (child = newNode()));
        node = child;
      }
    }
    const terminal = pattern.wildcard ? (node.wildcard ??= new Terminal()) : (node.exact ??= new Terminal());
    terminal.add({ spec, paramNames });
  }

  #bucket(map: Map<string, Node<T>>, host: ReturnType<typeof parseHostPattern>): Node<T> {
    if (host.kind === 'any') return this.#anyHost;
    const key = host.kind === 'wildcard' ? host.suffix : host.key;
    let node = map.get(key);
    if (node === undefined) map.set(key, (node = newNode()));
    return node;
  }
}

/**
 * Depth-first search in precedence order. Each trie node sits at a fixed depth, so it is visited at
 * most once per lookup: the cost is bounded by the trie, whatever the backtracking.
 */
function search<T>(node: Node<T>, walk: Walk, pos: number): Entry<T> | undefined {
  if (pos >= walk.end) {
    const exact = accept(node.exact, walk);
    return exact !== undefined || walk.allow !== undefined ? exact : accept(node.wildcard, walk);
  }
  let next = walk.path.indexOf('/', pos + 1);
  if (next === -1 || next > walk.end) next = walk.end;
  const seg = walk.path.slice(pos + 1, next);
  const child = node.statics?.get(seg);
  if (child !== undefined) {
    const found = search(child, walk, next);
    // A refused method (walk.allow set) ends the search: the most specific matching pattern decides.
    if (found !== undefined || walk.allow !== undefined) return found;
  }
  if (node.param !== undefined && seg !== '') {
    walk.values.push(seg);
    const found = search(node.param, walk, next);
    if (found !== undefined || walk.allow !== undefined) return found;
    walk.values.pop();
  }
  return accept(node.wildcard, walk);
}

/** The route at this pattern that takes the method; otherwise record what it would take (405) and stop. */
function accept<T>(terminal: Terminal<T> | undefined, walk: Walk): Entry<T> | undefined {
  if (terminal === undefined) return undefined;
  const entry = terminal.lookup(walk.method);
  if (entry !== undefined) return entry;
  walk.allow ??= new Set();
  for (const m of terminal.byMethod.keys()) walk.allow.add(m);
  if (terminal.byMethod.has('GET')) walk.allow.add('HEAD');
  return undefined;
}

function paramsOf<T>(entry: Entry<T>, values: readonly string[]): Readonly<Record<string, string>> {
  if (entry.paramNames.length === 0) return NO_PARAMS;
  // Null prototype: a parameter named `__proto__` or `constructor` must stay plain data.
  const params = Object.create(null) as Record<string, string>;
  for (let i = 0; i < entry.paramNames.length; i++) params[entry.paramNames[i] ?? ''] = values[i] ?? '';
  return params;
}

function sortMethods(methods: ReadonlySet<string>): string[] {
  const rank = (m: string): number => {
    const i = METHOD_ORDER.indexOf(m);
    return i === -1 ? METHOD_ORDER.length : i;
  };
  return [...methods].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}
