/**
 * Upstream kinds: `type` → the schema fragment of its config and the factory that builds it.
 * Adding a kind is a folder under upstream/ plus one line here; the route schema's `upstream`
 * union is derived from this table.
 */
import { Type, type Static, type TSchema, type TUnion } from '@sinclair/typebox';
import type { ConfigIssue } from '../config/issue.js';
import type { ShowValue } from '../config/validate.js';
import type { Upstream, UpstreamResources } from './upstream.js';
import { HttpUpstreamSchema } from './http/schema.js';
import { createHttpUpstream, httpUpstreamIssues } from './http/http.js';

interface Kind<S extends TSchema> {
  readonly schema: S;
  create(cfg: Static<S>, resources: UpstreamResources): Upstream;
  /** What the schema cannot say about a config of this kind, at `path` (validate reports it with the rest). */
  issues?(cfg: Static<S>, path: string, show: ShowValue): ConfigIssue[];
}

const kind = <S extends TSchema>(schema: S, create: Kind<S>['create'], issues?: Kind<S>['issues']): Kind<S> => ({ schema, create, ...(issues ? { issues } : {}) });

export const UPSTREAM_KINDS = {
  http: kind(HttpUpstreamSchema, (cfg, resources) => createHttpUpstream(cfg, resources), httpUpstreamIssues),
};

type Kinds = typeof UPSTREAM_KINDS;

export const UpstreamSchema = Type.Union(Object.values(UPSTREAM_KINDS).map((k) => k.schema), {
  description: `Where matched requests go; \`type\` selects the kind (${Object.keys(UPSTREAM_KINDS).map((t) => `\`${t}\``).join(', ')}; default \`http\`).`,
}) as TUnion<Kinds[keyof Kinds]['schema'][]>;

export type UpstreamConfig = Static<typeof UpstreamSchema>;

/** The kind of an upstream config (`http` when `type` is absent). */
export function upstreamKind(cfg: UpstreamConfig): keyof Kinds {
  return cfg.type ?? 'http';
}

/** The kind's own checks of an upstream config at `path`. */
export function upstreamIssues(cfg: UpstreamConfig, path: string, show: ShowValue): ConfigIssue[] {
  return (UPSTREAM_KINDS[upstreamKind(cfg)] as Kind<TSchema>).issues?.(cfg, path, show) ?? [];
}

/** Build an upstream from its config (at load). */
export function createUpstream(cfg: UpstreamConfig, resources: UpstreamResources): Upstream {
  return (UPSTREAM_KINDS[upstreamKind(cfg)] as Kind<TSchema>).create(cfg, resources);
}
