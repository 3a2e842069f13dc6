/**
 * Upstream kinds: `type` → the schema fragment of its config and the factory that builds it.
 * Adding a kind is a folder under upstream/ plus one line here; the route schema's `upstream`
 * union is derived from this table.
 */
import { Type, type Static, type TSchema, type TUnion } from '@sinclair/typebox';
import type { ConfigIssue } from '../config/issue.js';
import type { ShowValue } from '../config/validate.js';
import type { Upstream, UpstreamKind, UpstreamResources } from './upstream.js';
import { HttpUpstreamSchema } from './http/schema.js';
import type { OutboundSchema } from '../outbound/schema.js';
import { createHttpUpstream, httpUpstreamIssues } from './http/http.js';
import { brokerUpstreamKind } from './broker/kind.js';
import { RABBITMQ } from './broker/rabbitmq.js';
import { NATS } from './broker/nats.js';
import { SQS } from './broker/sqs.js';
import { SERVICEBUS } from './broker/servicebus.js';

const kind = <S extends TSchema>(schema: S, create: UpstreamKind<S>['create'], issues?: UpstreamKind<S>['issues']): UpstreamKind<S> => ({ schema, create, ...(issues ? { issues } : {}) });

export const UPSTREAM_KINDS = {
  http: kind(HttpUpstreamSchema, (cfg, resources) => createHttpUpstream(cfg, resources), httpUpstreamIssues),
  rabbitmq: brokerUpstreamKind('rabbitmq', RABBITMQ),
  nats: brokerUpstreamKind('nats', NATS),
  sqs: brokerUpstreamKind('sqs', SQS),
  servicebus: brokerUpstreamKind('servicebus', SERVICEBUS),
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
  return (UPSTREAM_KINDS[upstreamKind(cfg)] as UpstreamKind<TSchema>).issues?.(cfg, path, show) ?? [];
}

/** Build an upstream from its config (at load). */
export function createUpstream(cfg: UpstreamConfig, resources: UpstreamResources): Upstream {
  return (UPSTREAM_KINDS[upstreamKind(cfg)] as UpstreamKind<TSchema>).create(cfg, resources);
}

export type HttpUpstreamConfig = Static<typeof HttpUpstreamSchema>;

/** The config when it is an HTTP upstream, else undefined (a broker). */
export function httpUpstreamOf(cfg: UpstreamConfig): HttpUpstreamConfig | undefined {
  return upstreamKind(cfg) === 'http' ? (cfg as HttpUpstreamConfig) : undefined;
}

const NO_IDENTITY_HEADERS = Object.freeze({});

/**
 * What the outbound stages read of an upstream config. A broker upstream has no headers to speak
 * through, no Authorization to forward and no HTTP credentials: only the assertion, which it carries
 * as a message property.
 */
export function outboundConfigOf(cfg: UpstreamConfig): Static<typeof OutboundSchema> {
  return httpUpstreamOf(cfg) ?? { forwardAuthorization: false, identityHeaders: NO_IDENTITY_HEADERS, assertion: cfg.assertion };
}
