// The 405 rule, checked: which methods of a route never reach it because a more specific pattern
// decides the path (see RouteTable in table.ts). Asked of a real RouteTable, so it cannot drift from
// what the gateway does. Used by analyze.ts.
import type { PathPattern } from './pattern.js';
import { HTTP_METHODS } from './schema.js';
import { RouteTable, type RouteSpec } from './table.js';

/** A route as the analysis sees it. */
export interface ParsedRoute {
  readonly index: number;
  readonly spec: RouteSpec<unknown>;
  readonly host: string;
  readonly pattern: PathPattern;
  /** Methods the route takes (GET implies HEAD); undefined: every method. */
  readonly methods: ReadonlySet<string> | undefined;
}

type Parsed = ParsedRoute;

/** A RouteWarning of kind `unreachable` (analyze.ts). */
export interface UnreachableWarning {
  readonly kind: 'unreachable';
  readonly route: string;
  readonly other: string;
  readonly message: string;
}

/** The host keys tried after `host` for the hosts it matches: shorter wildcard suffixes, then any host. */
export function widerHosts(host: string): string[] {
  if (host === '') return [];
  const name = host.startsWith('*.') ? host.slice(2) : host;
  const keys: string[] = [];
  // `*.b.c` for `a.b.c`; `*.c` for both (i > 0 keeps the apex of a wildcard out).
  for (let i = name.indexOf('.', host === name ? 1 : 0); i !== -1; i = name.indexOf('.', i + 1)) {
    const key = `*${name.slice(i)}`;
    if (key !== host) keys.push(key);
  }
  keys.push('');
  return keys;
}

interface Lost {
  readonly by: Parsed;
  readonly path: string;
  readonly host: string;
  readonly methods: readonly string[];
  readonly allow: readonly string[];
}

const ALL_METHODS: readonly string[] = HTTP_METHODS;
/** How many examples a warning spells out before counting the rest. */
const EXAMPLES = 3;

/**
 * The 405 rule: the most specific pattern that matches a path decides its methods; the others never
 * see that path. For a pair where one pattern wins on the paths both match, the methods the loser
 * takes and the winner does not are lost there (405). Findings are grouped by the route that loses.
 */
export class Unreachable {
  readonly #table: RouteTable<unknown>;
  readonly #exactHosts = new Set<string>();
  readonly #wildcardHosts = new Set<string>();
  readonly #lost = new Map<Parsed, Lost[]>();

  constructor(routes: readonly RouteSpec<unknown>[], live: readonly Parsed[]) {
    this.#table = new RouteTable(routes);
    for (const r of live) {
      if (r.host.startsWith('*.')) this.#wildcardHosts.add(r.host);
      else if (r.host !== '') this.#exactHosts.add(r.host);
    }
  }

  /** Whether `winner`, where both patterns match, decides and so costs `loser` some of its methods. */
  check(winner: Parsed, loser: Parsed): void {
    if (winner.host === loser.host && winner.pattern.shape === loser.pattern.shape) return;
    const host = this.#exampleHost(winner.host);
    if (host === undefined) return;
    const path = example(winner.pattern, loser.pattern);
    const own = winner.spec.methods?.[0] ?? 'GET';
    const probe = this.#table.match(host, own, path);
    // Another route decides this path (or winner is not the one deciding): not this pair's doing.
    if (probe.kind !== 'matched' || probe.route !== winner.spec) return;
    const wanted = loser.methods === undefined ? ALL_METHODS : ALL_METHODS.filter((m) => loser.methods!.has(m));
    const lost: string[] = [];
    let allow: readonly string[] = [];
    for (const m of wanted) {
      const result = this.#table.match(host, m, path);
      if (result.kind === 'method_not_allowed') {
        lost.push(m);
        allow = result.allow;
      }
    }
    if (lost.length === 0) return;
    let list = this.#lost.get(loser);
    if (list === undefined) this.#lost.set(loser, (list = []));
    list.push({ by: winner, path, host: winner.host, methods: lost, allow });
  }

  warnings(): UnreachableWarning[] {
    const out: UnreachableWarning[] = [];
    for (const [loser, list] of [...this.#lost].sort(([a], [b]) => a.index - b.index)) {
      const ordered = [...list].sort((a, b) => a.by.index - b.by.index);
      const shown = ordered.slice(0, EXAMPLES);
      const more = ordered.length - shown.length;
      const cases = shown.map((l) =>
        `${l.methods.join(', ')} ${l.path}${l.host === '' ? '' : ` on host "${l.host}"`} ${l.methods.length === 1 ? 'answers' : 'answer'} 405 (Allow: ${l.allow.join(', ')}) ` +
        `because the more specific route "${l.by.spec.name}" (${describe(l.by)}) decides that path`);
      const first = shown[0]!;
      const fix = shown.length === 1
        ? `a route for "${first.by.spec.path}"${first.host === '' ? '' : ` on host "${first.host}"`}`
        : 'a route for each of those patterns';
      const message =
        `route "${loser.spec.name}" (${describe(loser)}) is unreachable for some methods: ${cases.join('; ')}` +
        `${more > 0 ? `; and ${more} more route${more === 1 ? '' : 's'} like these` : ''}. ` +
        'The most specific pattern that matches a path decides its methods: a method it does not take is refused there, never passed to a less specific route. ' +
        `If "${loser.spec.name}" should serve them, add ${fix} that takes those methods`;
      const names = shown.map((l) => l.by.spec.name);
      out.push({ kind: 'unreachable', route: loser.spec.name, other: more > 0 ? `${names.join(', ')}, …` : names.join(', '), message });
    }
    return out;
  }

  /** A request host that the bucket `key` serves before any other bucket (undefined: none found). */
  #exampleHost(key: string): string | undefined {
    if (key !== '' && !key.startsWith('*.')) return key;
    const suffix = key === '' ? '.invalid' : key.slice(1);
    for (let i = 0; i < 100; i++) {
      const host = `${i === 0 ? 'x' : `x${i}`}${suffix}`;
      if (this.#bucketOf(host) === key) return host;
    }
    return undefined;
  }

  /** The host key RouteTable tries first for `host`. */
  #bucketOf(host: string): string {
    if (this.#exactHosts.has(host)) return host;
    for (let i = host.indexOf('.', 1); i !== -1; i = host.indexOf('.', i + 1)) {
      const key = `*${host.slice(i)}`;
      if (this.#wildcardHosts.has(key)) return key;
    }
    return '';
  }
}

/** `/orders, POST` or `/orders/*, any method`, as written. */
function describe(p: Parsed): string {
  return `${p.spec.path}, ${p.spec.methods === undefined ? 'any method' : p.spec.methods.join(', ')}`;
}


/** A concrete path both (overlapping) patterns match, for the message. */
export function example(a: PathPattern, b: PathPattern): string {
  const n = Math.max(a.segments.length, b.segments.length);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const sa = a.segments[i];
    const sb = b.segments[i];
    parts.push(sa?.kind === 'static' ? sa.value : sb?.kind === 'static' ? sb.value : 'x');
  }
  return `/${parts.join('/')}`;
}
