/** Reading a JetStream stream the way a consumer does, for the NATS broker suites. */
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';

/** Every message in `stream`, oldest first, through an ordered consumer (empty after waiting `expiresMs` for one). */
export async function readStream(js: JetStreamClient, stream: string, expiresMs = 1000): Promise<JsMsg[]> {
  const consumer = await js.consumers.get(stream);
  const out: JsMsg[] = [];
  for (;;) {
    const batch = await consumer.fetch({ max_messages: 1000, expires: expiresMs });
    let last: JsMsg | undefined;
    for await (const m of batch) {
      out.push((last = m));
      if (m.info.pending === 0) break;
    }
    if (last === undefined || last.info.pending === 0) return out;
  }
}
