/**
 * A real OTLP/HTTP traces receiver on 127.0.0.1: it accepts what an OpenTelemetry exporter POSTs to
 * /v1/traces — protobuf (decoded by protobufjs with the specification's field numbers,
 * test/fixtures/otlp-trace.proto) or JSON (ids as hex) — and keeps the spans, flattened, for a test to read.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const ExportRequest = protobuf.loadSync(fileURLToPath(new URL('../fixtures/otlp-trace.proto', import.meta.url))).lookupType('otlp.ExportTraceServiceRequest');

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer. */
  readonly kind: number;
  readonly attributes: Record<string, string | number | boolean>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  readonly status: number;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly service: string | undefined;
}

interface AnyValue { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number }
interface KeyValue { key: string; value: AnyValue }
const valueOf = (v: AnyValue): string | number | boolean => v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.boolValue ?? v.doubleValue ?? '';
const attrs = (list: KeyValue[] | undefined): Record<string, string | number | boolean> => Object.fromEntries((list ?? []).map((kv) => [kv.key, valueOf(kv.value)]));

export interface OtlpReceiver {
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** Content types of the exports received. */
  readonly contentTypes: string[];
  /** Wait until `pred` holds for the spans received (up to 5 s). */
  waitFor(pred: (spans: ReceivedSpan[]) => boolean): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') return void res.writeHead(404).end();
      contentTypes.push(String(req.headers['content-type']));
      const raw = Buffer.concat(chunks);
      const protobufBody = req.headers['content-type'] === 'application/x-protobuf';
      // Both encodings to one shape: JSON's field names, ids as hex, 64-bit numbers as strings.
      const body = (protobufBody
        ? ExportRequest.toObject(ExportRequest.decode(raw), { longs: String, bytes: String, defaults: false })
        : JSON.parse(raw.toString('utf8'))) as { resourceSpans: { resource?: { attributes?: KeyValue[] }; scopeSpans: { spans: Record<string, unknown>[] }[] }[] };
      const id = (v: unknown): string => (protobufBody ? Buffer.from(String(v), 'base64').toString('hex') : String(v));
      for (const rs of body.resourceSpans) {
        const service = attrs(rs.resource?.attributes)['service.name'];
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans) {
            spans.push({
              traceId: id(s.traceId), spanId: id(s.spanId), parentSpanId: s.parentSpanId ? id(s.parentSpanId) : undefined,
              name: String(s.name), kind: Number(s.kind), attributes: attrs(s.attributes as KeyValue[]), status: Number((s.status as { code?: number } | undefined)?.code ?? 0),
              startNs: BigInt(String(s.startTimeUnixNano)), endNs: BigInt(String(s.endTimeUnixNano)), service: typeof service === 'string' ? service : undefined,
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    spans,
    contentTypes,
    async waitFor(pred) {
      const deadline = Date.now() + 5000;
      while (!pred(spans) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      return spans;
    },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
