import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startOtlpReceiver, type OtlpReceiver } from '../harness/otlp-receiver.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { formatApiKeyHash, generateApiKey } from '../../src/authn/apikey/format.js';
import { createServer, type AddressInfo } from 'node:net';
import { protocolOf } from '../../src/observe/tracing/tracing.js';

// OpenTelemetry tracing end to end: real gateways export over OTLP/HTTP (the SDK's exporter) to a real
// receiver started here, and forward to a real upstream, which sees the trace context.

process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
const INBOUND_TRACE = '0af7651916cd43dd8448eb211c80319c';
const INBOUND_SPAN = 'b7ad6b7169203331';
const inbound = { traceparent: `00-${INBOUND_TRACE}-${INBOUND_SPAN}-01`, tracestate: 'vendor=abc' };
let receiver: OtlpReceiver;
let upstream: TestUpstream;
const key = generateApiKey();
let keysFile: string;

const routes = (): Record<string, unknown>[] => [
  { name: 'orders', match: { path: '/orders/*' }, authenticate: ['partners'], allow: [{ name: 'writers', roles: ['writer'] }], upstream: { url: upstream.url } },
  { name: 'admin', match: { path: '/admin/*' }, authenticate: ['partners'], allow: [{ name: 'admins', roles: ['admin'] }], upstream: { url: upstream.url } },
];
const gateway = (tracing: Record<string, unknown>): Promise<TestGateway> => startGateway({ providers: { partners: { type: 'api-key', keys: keysFile } }, tracing, routes: routes() });
/** A port nothing listens on (taken and released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
const upstreamTraceparent = (): string => String(upstream.seen.at(-1)!.headers.traceparent);

before(async () => {
  receiver = await startOtlpReceiver();
  upstream = await startUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tracing-'));
  keysFile = join(dir, 'keys.yaml');
  writeFileSync(keysFile, `keys:\n  - ${JSON.stringify({ id: key.id, name: 'shop', roles: ['writer'], hash: formatApiKeyHash(key.key) })}\n`);
});
after(async () => { await upstream.close(); await receiver.close(); });

describe('tracing on, trusting the caller\'s trace context', () => {
  let gw: TestGateway;
  before(async () => { gw = await gateway({ endpoint: receiver.url, trustInbound: 'all', serviceName: 'edge-gateway' }); });
  after(() => gw.stop());

  it('a request is a SERVER span under the caller\'s span, with a child per stage; the upstream span is the parent the backend sees', async () => {
    const res = await fetch(`${gw.url}/orders/1`, { headers: { 'x-api-key': key.key, ...inbound } });
    assert.equal(res.status, 200);
    const sent = upstreamTraceparent();
    assert.equal(upstream.seen.at(-1)!.headers.tracestate, 'vendor=abc', 'the trusted caller\'s tracestate goes on');
    const spans = (await receiver.waitFor((s) => s.some((x) => x.traceId === INBOUND_TRACE && x.name === 'upstream'))).filter((s) => s.traceId === INBOUND_TRACE);
    const root = spans.find((s) => s.kind === 2)!;
    assert.ok(root, JSON.stringify(spans.map((s) => s.name)));
    assert.equal(root.parentSpanId, INBOUND_SPAN);
    assert.equal(root.service, 'edge-gateway');
    assert.equal(root.name, 'GET orders');
    assert.deepEqual([root.attributes['http.response.status_code'], root.attributes['gatehouse.route'], root.attributes['enduser.id']], [200, 'orders', 'shop']);
    const byName = new Map(spans.filter((s) => s !== root).map((s) => [s.name, s]));
    assert.deepEqual([...byName.keys()].sort(), ['authenticate', 'authorize', 'outbound', 'upstream']);
    for (const child of byName.values()) {
      assert.equal(child.parentSpanId, root.spanId, `${child.name} is a child of the request`);
      assert.ok(child.startNs >= root.startNs && child.endNs <= root.endNs, `${child.name} lies within the request`);
    }
    assert.equal(byName.get('authenticate')!.attributes['gatehouse.authn.provider'], 'partners');
    assert.deepEqual([byName.get('authorize')!.attributes['gatehouse.decision'], byName.get('authorize')!.attributes['gatehouse.decision.rule']], ['allow', 'writers']);
    const up = byName.get('upstream')!;
    assert.equal(up.kind, 3, 'a CLIENT span');
    assert.equal(up.attributes['http.response.status_code'], 200);
    assert.equal(sent, `00-${INBOUND_TRACE}-${up.spanId}-01`, 'the backend\'s parent is the upstream span');
    const line = await gw.auditLine((l) => l.route === 'orders' && String(l.traceparent).includes(INBOUND_TRACE));
    assert.ok(line, 'the audit line carries the trace id');
    assert.equal(JSON.stringify(spans.map((s) => s.attributes)).includes(key.key), false, 'no credential in any span');
  });

  it('a refused request ends at the stage that refused: an error span with the reason code, and no upstream span', async () => {
    const trace = 'aaaabbbbccccddddeeeeffff00001111';
    const res = await fetch(`${gw.url}/admin/x`, { headers: { 'x-api-key': key.key, traceparent: `00-${trace}-${INBOUND_SPAN}-01` } });
    assert.equal(res.status, 403);
    const spans = (await receiver.waitFor((s) => s.some((x) => x.traceId === trace && x.kind === 2))).filter((s) => s.traceId === trace);
    const authorize = spans.find((s) => s.name === 'authorize')!;
    assert.equal(authorize.status, 2);
    assert.equal(authorize.attributes['gatehouse.refusal'], 'no_rule_matched');
    assert.equal(authorize.attributes['gatehouse.decision'], 'deny');
    assert.equal(spans.some((s) => s.name === 'upstream'), false);
    assert.equal(spans.find((s) => s.kind === 2)!.attributes['http.response.status_code'], 403);
  });
});

describe('tracing with the defaults: an untrusted caller cannot join or force a trace', () => {
  let gw: TestGateway;
  before(async () => { gw = await gateway({ endpoint: receiver.url }); });
  after(() => gw.stop());

  it('the caller\'s traceparent and tracestate are replaced by a new trace of ours', async () => {
    const res = await fetch(`${gw.url}/orders/2`, { headers: { 'x-api-key': key.key, ...inbound } });
    assert.equal(res.status, 200);
    const sent = upstreamTraceparent();
    assert.doesNotMatch(sent, new RegExp(INBOUND_TRACE));
    assert.equal(upstream.seen.at(-1)!.headers.tracestate, undefined);
    const traceId = sent.split('-')[1]!;
    const spans = await receiver.waitFor((s) => s.some((x) => x.traceId === traceId && x.kind === 2));
    const root = spans.find((s) => s.traceId === traceId && s.kind === 2)!;
    assert.equal(root.parentSpanId, undefined, 'a root span');
  });
});

describe('sampling ratio 0 and a dead collector', () => {
  it('unsampled requests export nothing and say so upstream (flags 00); a collector that is down never blocks a request', async () => {
    const none = await gateway({ endpoint: receiver.url, ratio: 0 });
    try {
      const before = receiver.spans.length;
      for (let i = 0; i < 5; i++) assert.equal((await fetch(`${none.url}/orders/${i}`, { headers: { 'x-api-key': key.key } })).status, 200);
      assert.match(upstreamTraceparent(), /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(receiver.spans.length, before);
    } finally {
      await none.stop();
    }
    const dead = await gateway({ endpoint: `http://127.0.0.1:${await closedPort()}/v1/traces`, exportTimeout: '1s', maxQueueSize: 10 });
    try {
      for (let i = 0; i < 50; i++) assert.equal((await fetch(`${dead.url}/orders/${i}`, { headers: { 'x-api-key': key.key } })).status, 200);
    } finally {
      await dead.stop();
    }
  });
});

describe('export encodings', () => {
  // The spans of one request as a test compares them: the same whatever the encoding.
  const shape = async (gw: TestGateway, trace: string): Promise<unknown[]> => {
    const res = await fetch(`${gw.url}/orders/enc`, { headers: { 'x-api-key': key.key, traceparent: `00-${trace}-${INBOUND_SPAN}-01` } });
    assert.equal(res.status, 200);
    const spans = (await receiver.waitFor((s) => s.filter((x) => x.traceId === trace).length >= 5)).filter((s) => s.traceId === trace);
    return spans.map((s) => [s.name, s.kind, s.status, s.parentSpanId === INBOUND_SPAN || spans.some((p) => p.spanId === s.parentSpanId), s.attributes['gatehouse.route'], s.attributes['http.response.status_code'] ?? null])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  };
  const lastType = (): string => receiver.contentTypes.at(-1)!;

  it('protobuf by default (OTLP\'s default), JSON when the config or OTEL_EXPORTER_OTLP_PROTOCOL asks; the same spans either way', async () => {
    const protobufGw = await gateway({ endpoint: receiver.url, trustInbound: 'all' });
    let viaProtobuf: unknown[];
    try {
      viaProtobuf = await shape(protobufGw, '11112222333344445555666677778888');
      assert.equal(lastType(), 'application/x-protobuf');
    } finally {
      await protobufGw.stop();
    }
    const jsonGw = await gateway({ endpoint: receiver.url, trustInbound: 'all', protocol: 'http/json' });
    try {
      assert.deepEqual(await shape(jsonGw, '99990000aaaabbbbccccddddeeeeffff'), viaProtobuf);
      assert.equal(lastType(), 'application/json');
    } finally {
      await jsonGw.stop();
    }
    assert.equal(viaProtobuf.length, 5);
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
    const envGw = await gateway({ endpoint: receiver.url, trustInbound: 'all' });
    try {
      await shape(envGw, '1234123412341234abcdabcdabcdabcd');
      assert.equal(lastType(), 'application/json');
    } finally {
      delete process.env.OTEL_EXPORTER_OTLP_PROTOCOL;
      await envGw.stop();
    }
  });

  it('the config wins over the variables; a protocol we cannot send is named in a warning and protobuf is used', () => {
    const warnings: string[] = [];
    const warn = (m: string): void => { warnings.push(m); };
    const cfg = { trustInbound: 'trustedProxies', maxQueueSize: 1, exportTimeout: '1s' } as const;
    assert.equal(protocolOf({ ...cfg, protocol: 'http/protobuf' }, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, warn), 'http/protobuf');
    assert.equal(protocolOf(cfg, { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }, warn), 'http/json');
    assert.equal(protocolOf(cfg, {}, warn), 'http/protobuf');
    assert.deepEqual(warnings, []);
    assert.equal(protocolOf(cfg, { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' }, warn), 'http/protobuf');
    assert.match(warnings[0]!, /OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc is not supported/);
  });
});
