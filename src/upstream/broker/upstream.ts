/**
 * The broker upstream: a request that passed authenticate → authorize → limit becomes one message.
 * The client hears 202 only once the broker confirmed the message; every other answer means the
 * gateway did not get a confirmation (a 504, or a 503 when the connection went away mid-publish,
 * may still have reached the broker: a retry with the same idempotency key is then de-duplicated).
 */
import { performance } from 'node:perf_hooks';
import { channel } from 'node:diagnostics_channel';
import type { Static, TSchema } from '@sinclair/typebox';
import { GatehouseError, type Refusal } from '../../errors.js';
import { parseDuration } from '../../config/units.js';
import { InFlight } from '../../limits/concurrency.js';
import { DEFAULT_ASSERTION_HEADER } from '../../outbound/headers.js';
import type { RequestContext } from '../../pipeline/context.js';
import type { StageResult } from '../../pipeline/stage.js';
import type { Upstream, UpstreamResources } from '../upstream.js';
import type { BrokerConnection, BrokerKind, Confirmation } from './broker.js';
import { PublishFailure } from './broker.js';
import { compileBodySchema, contentTypeRefusal, mediaType, type BodyCheck } from './body.js';
import { buildMessage, messageIdFor, type MessageSettings } from './message.js';
import type { BrokerCommon } from './schema.js';

type Common = BrokerCommon;

/** Published when a broker route's request ends with a message outcome (metrics subscribe). */
export const messagePublished = channel('gatehouse:broker:publish');

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;
const BACKLOGGED: Refusal = Object.freeze({ code: 'concurrency_limited', detail: 'too many messages waiting for the broker on this destination', headers: { 'retry-after': '1' } });

/** The destination a request names, or the 404 refusal. */
function destinationResolver(destination: Common['destination']): (ctx: RequestContext) => string | Refusal {
  if (typeof destination === 'string') return () => destination;
  const allowed = new Set(destination.allow);
  const notFound: Refusal = Object.freeze({ code: 'destination_not_found', detail: `this route publishes to ${destination.allow.join(', ')} only` });
  return (ctx) => {
    const name = ctx.params[destination.param];
    return name !== undefined && allowed.has(name) ? name : notFound;
  };
}

/** A refusal before the body was read: the client's body is discarded, not left on the connection. */
function refuseUnread(ctx: RequestContext, refusal: Refusal): Refusal {
  ctx.exchange.discardBody();
  return refusal;
}

/** Wait for `publish` at most `ms`; the signal tells the broker to stop waiting too. */
async function confirmWithin(ms: number, publish: (signal: AbortSignal) => Promise<Confirmation>): Promise<Confirmation> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new PublishFailure('broker_timeout', `no confirmation within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([publish(abort.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Build the upstream for a broker config of `kind` (named `type` in the config). */
export function createBrokerUpstream<S extends TSchema>(type: string, kind: BrokerKind<S>, cfg: Static<S>, resources: UpstreamResources): Upstream {
  const common = cfg as unknown as Common;
  const key = `broker:${type}:${kind.connectionKey(cfg)}`;
  const connection = resources.get<BrokerConnection<Static<S>>>(key, () => kind.connect(cfg), (c) => c.close());
  const caps = resources.get(`${key}:caps`, () => new Map<string, InFlight>());
  const capOf = (destination: string): InFlight => {
    let cap = caps.get(destination);
    if (cap === undefined) caps.set(destination, (cap = new InFlight(common.maxInFlight)));
    return cap;
  };
  const resolve = destinationResolver(common.destination);
  const timeoutMs = parseDuration(common.timeout);
  const check: BodyCheck | undefined = common.schema === undefined ? undefined : compileBodySchema(common.schema);
  const assertion = common.assertion;
  const settings: MessageSettings = {
    type: common.cloudEvents?.type ?? 'com.gatehouse.message',
    source: common.cloudEvents?.source,
    assertionHeader: assertion === undefined || assertion === false ? undefined : assertion === true ? DEFAULT_ASSERTION_HEADER : assertion.header,
  };
  const idempotencyHeader = common.idempotencyHeader.toLowerCase();
  const label = kind.label(cfg);

  async function publish(ctx: RequestContext): Promise<StageResult> {
    const destination = resolve(ctx);
    if (typeof destination !== 'string') return refuseUnread(ctx, destination);
    const contentType = ctx.headers['content-type'];
    const refusedType = contentTypeRefusal(common.contentTypes, mediaType(contentType));
    if (refusedType !== undefined) return refuseUnread(ctx, refusedType);
    const keyHeader = ctx.headers[idempotencyHeader];
    const idempotencyKey = Array.isArray(keyHeader) ? keyHeader[0] : keyHeader;
    if (idempotencyKey === undefined && common.requireIdempotencyKey) return refuseUnread(ctx, { code: 'idempotency_key_missing', detail: `send a unique ${common.idempotencyHeader} header with each message (the same one on a retry)` });
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) return refuseUnread(ctx, { code: 'idempotency_key_invalid' });
    let body: Buffer;
    try {
      body = await ctx.readBody();
    } catch (err) {
      if (err instanceof GatehouseError) return { code: err.code, detail: err.message };
      throw err;
    }
    ctx.record.bytesIn = body.length;
    const invalid = check?.(body);
    if (invalid !== undefined) return invalid;
    const cap = capOf(destination);
    if (!cap.tryAcquire()) return BACKLOGGED;
    const id = messageIdFor(ctx.identity, idempotencyKey);
    const record = (ctx.record.message = { destination, id, brokerId: undefined as string | undefined, duplicate: undefined as boolean | undefined, confirmMs: undefined as number | undefined });
    const message = buildMessage(ctx, settings, id, destination, body, contentType!);
    const started = performance.now();
    let confirmation: Confirmation;
    try {
      confirmation = await confirmWithin(timeoutMs, (signal) => connection.publish(destination, message, signal, cfg));
    } catch (err) {
      const failure = err instanceof PublishFailure ? err : new PublishFailure('broker_unavailable', `publish failed (${(err as Error).name})`);
      if (messagePublished.hasSubscribers) messagePublished.publish({ route: ctx.route!.name, broker: type, destination, outcome: failure.code });
      return { code: failure.code, internal: failure.message };
    } finally {
      cap.release();
    }
    const confirmMs = performance.now() - started;
    record.brokerId = confirmation.brokerId;
    record.duplicate = confirmation.duplicate === true;
    record.confirmMs = ctx.record.upstreamMs = confirmMs;
    if (messagePublished.hasSubscribers) messagePublished.publish({ route: ctx.route!.name, broker: type, destination, outcome: confirmation.duplicate ? 'duplicate' : 'published', seconds: confirmMs / 1000 });
    const answer = JSON.stringify({ id, destination, duplicate: confirmation.duplicate === true });
    const exchange = ctx.exchange;
    if (exchange.closed) return undefined;
    ctx.record.status = 202;
    ctx.record.bytesOut = exchange.send(202, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer), 'cache-control': 'no-store', ...ctx.responseHeaders }, answer);
    return undefined;
  }

  return {
    kind: type,
    label,
    cap: undefined,
    prepare: (ctx, headers) => ({ method: ctx.method, path: ctx.path, headers, body: undefined }),
    send: publish,
    close: () => Promise.resolve(),
  };
}
