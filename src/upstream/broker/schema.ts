/** What every broker upstream has, whatever the broker: where messages go and what is accepted. */
import { Type, type Static } from '@sinclair/typebox';
import { Duration, Strict } from '../../config/types.js';
import { OutboundFields } from '../../outbound/schema.js';

const NAME = Type.String({ minLength: 1, maxLength: 260, pattern: '^[A-Za-z0-9._~:/$-]+$' });

export const DestinationSchema = Type.Union([
  Type.String({ ...NAME, description: 'One fixed destination (queue, topic, subject or routing key).' }),
  Strict({
    param: Type.String({ minLength: 1, pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'The route path parameter that names the destination (`topic` for `/events/:topic`).' }),
    allow: Type.Array(NAME, { minItems: 1, uniqueItems: true, description: 'The destinations a caller may name; any other value is 404 `destination_not_found` (never created).' }),
  }, 'A destination taken from a path parameter, constrained by an allow-list.'),
], { description: 'Where messages go: a fixed name, or `{param, allow}` for one named in the path.' });

export const BrokerFields = {
  destination: DestinationSchema,
  timeout: Duration('How long to wait for the broker to confirm a message (504 `broker_timeout` on expiry; the client retries with the same idempotency key).', '5s'),
  maxInFlight: Type.Integer({ minimum: 1, default: 256, description: 'Most publishes waiting for a confirmation per destination and gateway process; beyond it 503 `concurrency_limited` (back-pressure).' }),
  idempotencyHeader: Type.String({ default: 'idempotency-key', pattern: '^[A-Za-z0-9-]+$', description: 'Request header whose value (1–128 visible ASCII characters) makes the message id, scoped to the caller: a retry after a lost response is the same message, which the broker de-duplicates (or the consumer, on RabbitMQ).' }),
  requireIdempotencyKey: Type.Boolean({ default: false, description: 'Refuse a request without the idempotency header (400 `idempotency_key_missing`).' }),
  contentTypes: Type.Array(Type.String({ minLength: 1, pattern: '^([a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+|\\*/\\*)$' }), {
    default: ['application/json'], minItems: 1,
    description: 'Media types accepted as message bodies (parameters such as `charset` ignored; `*/*` for any); another is 415 `content_type_not_allowed`.',
  }),
  schema: Type.Optional(Type.Union([Type.Object({}, { additionalProperties: true }), Type.String({ minLength: 2 })], {
    description: 'JSON Schema (draft 2020-12) that a JSON body must satisfy, inline or as JSON text (`${file:schemas/order.json}`); a body that does not is 422 `body_invalid` with the schema errors.',
  })),
  cloudEvents: Type.Optional(Strict({
    type: Type.String({ minLength: 1, default: 'com.gatehouse.message', description: 'The `type` attribute (`com.example.order.submitted`).' }),
    source: Type.Optional(Type.String({ minLength: 1, description: 'The `source` attribute (a URI reference); default `/gatehouse/routes/<route name>`.' })),
  }, 'CloudEvents context attributes set on every message (binary content mode).')),
  assertion: OutboundFields.assertion,
};

/** The common fields of every broker config, as the broker upstream reads them. */
export const BrokerCommonSchema = Type.Object(BrokerFields);
export type BrokerCommon = Static<typeof BrokerCommonSchema>;
