/** What the schema cannot say about a route's `websocket` setting. */
import type { ConfigIssue } from '../../config/issue.js';
import type { RouteConfig } from '../../config/schema.js';
import { httpUpstreamOf } from '../registry.js';

/** `websocket` needs an HTTP upstream (a broker takes one message per request, not a stream of them). */
export function websocketIssues(route: RouteConfig, path: string): ConfigIssue[] {
  if (route.websocket === undefined || route.websocket === false || httpUpstreamOf(route.upstream) !== undefined) return [];
  return [{ path: `${path}/websocket`, message: `route ${JSON.stringify(route.name)}: \`websocket\` needs an HTTP upstream (url: http:// or https://); a broker upstream takes one message per request` }];
}
