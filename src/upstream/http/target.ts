import type { Static } from '@sinclair/typebox';
import { parseDuration } from '../../config/units.js';
import type { HttpUpstreamSchema } from './schema.js';

/** An upstream's address and timeouts, compiled from its config. */
export interface UpstreamTarget {
  readonly url: URL;
  /** Path of the upstream URL without a trailing slash ('' for the root). */
  readonly basePath: string;
  /** Prefix removed from the request path, without a trailing slash. */
  readonly stripPrefix?: string;
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
}

/** Parse the upstream URL and durations once, at config load. */
export function compileTarget(cfg: Static<typeof HttpUpstreamSchema>): UpstreamTarget {
  const url = new URL(cfg.url);
  const stripPrefix = cfg.stripPrefix === undefined ? undefined : withoutTrailingSlash(cfg.stripPrefix);
  return {
    url,
    basePath: withoutTrailingSlash(url.pathname),
    ...(stripPrefix ? { stripPrefix } : {}),
    connectTimeoutMs: parseDuration(cfg.connectTimeout),
    headersTimeoutMs: parseDuration(cfg.headersTimeout),
    bodyTimeoutMs: parseDuration(cfg.bodyTimeout),
  };
}

/**
 * The request target sent upstream: basePath + (path without stripPrefix) + ?query. The prefix is
 * removed only on a segment boundary (`/api` strips `/api/x` and `/api`, not `/apiary`).
 */
export function upstreamPath(target: UpstreamTarget, path: string, query: string): string {
  let rest = path;
  const prefix = target.stripPrefix;
  if (prefix !== undefined && path.startsWith(prefix) && (path.length === prefix.length || path[prefix.length] === '/')) {
    rest = path.slice(prefix.length);
  }
  const full = rest === '' ? target.basePath || '/' : target.basePath + rest;
  return query === '' ? full : `${full}?${query}`;
}

function withoutTrailingSlash(path: string): string {
  let end = path.length;
  while (end > 0 && path[end - 1] === '/') end -= 1;
  return path.slice(0, end);
}
