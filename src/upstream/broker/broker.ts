/**
 * The one broker interface. A broker kind (RabbitMQ, NATS JetStream, Service Bus, SQS) is one file
 * that says how to reach the broker (its schema fields, a connection key) and how to publish one
 * message with a confirmation; everything else — destination allow-lists, body checks, the
 * CloudEvents attributes, idempotency, back-pressure, timeouts, 202/5xx, audit and metrics — is the
 * broker upstream's (upstream.ts), the same for every broker.
 */
import { channel } from 'node:diagnostics_channel';
import type { Static, TSchema } from '@sinclair/typebox';
import type { ConfigIssue } from '../../config/issue.js';
import type { ShowValue } from '../../config/validate.js';
import type { Identity } from '../../identity/identity.js';

/** One message, ready for a broker's binding. Nothing in it comes from a request header but the content type. */
export interface OutgoingMessage {
  /** The message id: the caller's idempotency key, or one made by the gateway. Brokers de-duplicate on it. */
  readonly id: string;
  readonly body: Buffer;
  readonly contentType: string;
  readonly time: Date;
  /**
   * CloudEvents context attributes and extensions by attribute name (`specversion`, `id`, `source`,
   * `type`, `subject`, `time`, `authtype`, `authid`, `authclaims`, `traceparent`, `gatehouserequestid`,
   * `gatehouseassertion`…), in order of importance: a broker that can carry only a few keeps the first.
   */
  readonly attributes: ReadonlyMap<string, string>;
  /** The verified caller (none on a public route), for a binding that derives a property from it (SQS's MessageGroupId). */
  readonly identity: Identity | undefined;
}

/** What the broker confirmed. */
export interface Confirmation {
  /** The broker's id of the stored message (its sequence number, message id), for the audit line. */
  readonly brokerId: string;
  /** The broker recognised the message id and did not store it again. */
  readonly duplicate?: boolean;
}

/**
 * Why a publish was not confirmed; the broker upstream answers 503 (`broker_unavailable`,
 * `broker_refused`), 504 (`broker_timeout`), or 422 (`message_unsendable`: the client's message is
 * one the broker cannot carry — its body or size — so a retry as is cannot succeed).
 */
export type PublishFailureCode = 'broker_unavailable' | 'broker_refused' | 'broker_timeout' | 'message_unsendable';

/** A publish that did not get a confirmation. `message` is for the audit and log only, never the client. */
export class PublishFailure extends Error {
  constructor(readonly code: PublishFailureCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PublishFailure';
  }
}

/**
 * One pooled connection (or client) to a broker, shared by every route with the same connection key;
 * `C` is the broker's config, of which each route passes its own (its publish options: exchange,
 * persistence, session or group id — whatever is not part of the connection key).
 */
export interface BrokerConnection<C = unknown> {
  /**
   * Publish `message` to `destination` with the options of `route` and resolve once the broker
   * confirmed it. Reject with a `PublishFailure` when it did not; `signal` aborts the wait at the
   * route's timeout (the broker may still store the message: the caller retries with the same
   * idempotency key).
   */
  publish(destination: string, message: OutgoingMessage, signal: AbortSignal, route: C): Promise<Confirmation>;
  /** Release the connection; publishes still waiting fail with `broker_unavailable`. */
  close(): Promise<void>;
}

/** What a broker kind file exports. `S` is its schema (its own fields plus `BrokerFields`). */
export interface BrokerKind<S extends TSchema> {
  readonly schema: S;
  /** For the audit line and explain: where messages go, without credentials (`amqp://mq:5672`). */
  label(cfg: Static<S>): string;
  /** Routes whose configs have the same key share one connection: only what the connection depends on. */
  connectionKey(cfg: Static<S>): string;
  connect(cfg: Static<S>): BrokerConnection<Static<S>>;
  /** What the schema cannot say about a config of this kind. */
  issues?(cfg: Static<S>, path: string, show: ShowValue): ConfigIssue[];
}

/** Connection state changes, logged by observe/log-events.ts: `{ broker, state: 'up' | 'down', error? }`. */
export const brokerConnection = channel('gatehouse:broker:connection');

export function reportConnection(broker: string, state: 'up' | 'down', error?: unknown): void {
  if (!brokerConnection.hasSubscribers) return;
  const code = (error as { code?: unknown } | undefined)?.code;
  brokerConnection.publish({ broker, state, ...(error === undefined ? {} : { error: typeof code === 'string' || typeof code === 'number' ? String(code) : (error as Error).name ?? 'error' }) });
}
