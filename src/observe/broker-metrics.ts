/** Per-destination broker metrics, fed by `gatehouse:broker:publish` (the broker upstream never calls them). */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Counter, Histogram, type Registry } from 'prom-client';

interface PublishEvent { route: string; broker: string; destination: string; outcome: string; seconds?: number }

const CONFIRM_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Register the broker metrics on `registry`; returns the unsubscribe function. */
export function startBrokerMetrics(registry: Registry): () => void {
  const messages = new Counter({
    name: 'gatehouse_broker_messages_total',
    help: 'Messages by route, broker kind, destination and outcome: published, duplicate (de-duplicated by the broker), or the refusal code (broker_unavailable, broker_refused, broker_timeout).',
    labelNames: ['route', 'broker', 'destination', 'outcome'] as const, registers: [registry],
  });
  const confirm = new Histogram({
    name: 'gatehouse_broker_confirm_seconds', help: 'Time from publish to the broker\'s confirmation, by broker kind and destination.',
    labelNames: ['broker', 'destination'] as const, buckets: CONFIRM_BUCKETS, registers: [registry],
  });
  const onPublish = (message: unknown): void => {
    const e = message as PublishEvent;
    messages.inc({ route: e.route, broker: e.broker, destination: e.destination, outcome: e.outcome });
    if (e.seconds !== undefined) confirm.observe({ broker: e.broker, destination: e.destination }, e.seconds);
  };
  subscribe('gatehouse:broker:publish', onPublish);
  return () => unsubscribe('gatehouse:broker:publish', onPublish);
}
