/**
 * Named upstreams: `upstreams: { orders: { url, auth, … } }` defined once, `upstream: orders` in each
 * route that uses it. After the schema checks, each name is replaced by (a copy of) its definition, so
 * everything after loading sees an upstream object per route; routes naming the same upstream share
 * its compiled parts (connection pool, outbound credentials and their token caches), which are built
 * once per distinct configuration. Findings of later checks inside a named route's upstream are
 * reported at the definition (`upstreams.orders.auth[0]…`), where the user has to fix them.
 */
import type { ConfigIssue } from './issue.js';
import { at, indices, keysOf } from './checks.js';
import { isWithin, toPointer } from './pointer.js';

export interface UpstreamNames {
  /** Routes naming an upstream that is not defined. */
  readonly issues: readonly ConfigIssue[];
  /** The place in the file that `pointer` stands for: a route's named upstream maps to its definition. */
  real(pointer: string): string;
}

/** Replace every `routes[i].upstream: NAME` by a copy of `upstreams[NAME]` (in place). */
export function resolveUpstreamNames(value: unknown): UpstreamNames {
  const defined = at(value, 'upstreams');
  const names = keysOf(defined);
  const aliases: [route: string, definition: string][] = [];
  const issues: ConfigIssue[] = [];
  const routes = at(value, 'routes');
  for (const i of indices(routes)) {
    const route = (routes as unknown[])[i];
    const name = at(route, 'upstream');
    if (typeof name !== 'string') continue;
    const path = toPointer(['routes', String(i), 'upstream']);
    if (!names.includes(name)) {
      issues.push({
        path,
        message: names.length === 0
          ? `no upstream named ${JSON.stringify(name)}: define it under \`upstreams:\` or write the upstream here ({ url: … })`
          : `no upstream named ${JSON.stringify(name)}; defined: ${names.join(', ')}`,
      });
      continue;
    }
    (route as Record<string, unknown>).upstream = structuredClone((defined as Record<string, unknown>)[name]);
    aliases.push([path, toPointer(['upstreams', name])]);
  }
  return {
    issues,
    real(pointer) {
      for (const [route, definition] of aliases) {
        if (isWithin(pointer, route)) return definition + pointer.slice(route.length);
      }
      return pointer;
    },
  };
}
