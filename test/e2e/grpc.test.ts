// gRPC through the gateway, with @grpc/grpc-js as client and server: h2c in and out, unary, server
// streaming and bidirectional calls, the upstream's status and trailers relayed, the gateway's own
// refusals as gRPC statuses (UNAUTHENTICATED, PERMISSION_DENIED, RESOURCE_EXHAUSTED, UNIMPLEMENTED,
// UNAVAILABLE), and TLS with ALPN on both sides.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import http2 from 'node:http2';
import { createServer } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { makeTestPki } from '../harness/tls.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { echoClient, startGrpcUpstream, unary, type EchoReply, type GrpcUpstream } from '../harness/grpc.js';
import { startOtlpReceiver, type OtlpReceiver } from '../harness/otlp-receiver.js';

let pki: ReturnType<typeof makeTestPki>;
let up: GrpcUpstream;
let tlsUp: GrpcUpstream;
let gw: TestGateway;
let tlsGw: TestGateway;
let client: ReturnType<typeof echoClient>;
let deadPort: number;
let receiver: OtlpReceiver;

const token = (sub: string, roles: string[] = ['reader']): Promise<string> => gw.gateway.ref.current.devIssuer!.sign({ sub, roles });
const bearer = async (sub: string, roles?: string[]): Promise<Record<string, string>> => ({ authorization: `Bearer ${await token(sub, roles)}` });

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

before(async () => {
  pki = makeTestPki();
  up = await startGrpcUpstream();
  tlsUp = await startGrpcUpstream({ cert: pki.certPem, key: pki.keyPem });
  deadPort = await closedPort();
  receiver = await startOtlpReceiver();
  const echoRoute = (url: string, extra: Record<string, unknown> = {}) => ({
    name: 'echo', match: { path: '/gatehouse.test.Echo/*' }, authenticate: ['dev'], allow: [{ roles: ['reader'] }],
    limits: [{ name: 'per-caller', key: ['subject'], rate: '5/m' }], upstream: { url, http2: true, ...extra },
  });
  gw = await startGateway({
    dev: true,
    listen: { http2: { h2c: true } },
    tracing: { endpoint: receiver.url },
    routes: [
      echoRoute(up.url),
      { name: 'down', match: { path: '/gatehouse.test.Down/*' }, public: true, upstream: { url: `http://127.0.0.1:${deadPort}`, http2: true } },
    ],
  });
  tlsGw = await startGateway({
    dev: true,
    listen: { tls: { cert: pki.certPem, key: pki.keyPem } },
    routes: [echoRoute(tlsUp.url, { ca: pki.caPem })],
  });
  client = echoClient(`127.0.0.1:${new URL(gw.url).port}`);
});
after(async () => {
  client.close();
  await gw.stop();
  await tlsGw.stop();
  await up.close();
  await tlsUp.close();
  await receiver.close();
  rmSync(pki.dir, { recursive: true, force: true });
});

test('a unary call reaches the service over h2c with the identity header', async () => {
  const { reply, status } = await unary(client, 'Say', { message: 'alice' }, await bearer('alice'));
  assert.equal(status.code, grpc.status.OK, status.details);
  assert.equal(reply?.message, 'hello alice');
  assert.equal(reply?.subject, 'alice');
  assert.equal(reply?.deadlineLeftMs, '', 'no deadline was set');
});

test("the service's own status, message and trailing metadata reach the client as sent", async () => {
  const { status } = await unary(client, 'Fail', {}, await bearer('bob'));
  assert.equal(status.code, grpc.status.NOT_FOUND);
  assert.equal(status.details, 'nothing here: é');
  assert.deepEqual(status.metadata.get('x-detail'), ['no such thing']);
  const line = await gw.auditLine((l) => (l.identity as { subject?: string } | null)?.subject === 'bob');
  assert.equal(line?.upstream_status, 200);
  assert.equal(line?.grpc_status, grpc.status.NOT_FOUND);
  // The trace says it too, in OpenTelemetry's RPC terms, on the request span and the upstream span.
  const spans = await receiver.waitFor((all) => all.some((x) => x.attributes['gatehouse.request_id'] === line?.request_id));
  const root = spans.find((x) => x.attributes['gatehouse.request_id'] === line?.request_id)!;
  assert.equal(root.attributes['rpc.system'], 'grpc');
  assert.equal(root.attributes['rpc.grpc.status_code'], grpc.status.NOT_FOUND);
  const upstreamSpan = spans.find((x) => x.traceId === root.traceId && x.name === 'upstream');
  assert.equal(upstreamSpan?.attributes['rpc.grpc.status_code'], grpc.status.NOT_FOUND);
});

test('no token: UNAUTHENTICATED with the stable code and the challenge; the audit line keeps the 401', async () => {
  const { status, headers } = await unary(client, 'Say', { message: 'x' });
  assert.equal(status.code, grpc.status.UNAUTHENTICATED);
  assert.match(status.details, /^token_missing: /);
  assert.ok(String(headers?.get('www-authenticate')[0]).startsWith('Bearer'));
  const line = await gw.auditLine((l) => l.error === 'token_missing' && l.route === 'echo');
  assert.equal(line?.status, 401);
  assert.equal(line?.grpc_status, grpc.status.UNAUTHENTICATED);
});

test('a forged token is UNAUTHENTICATED; a caller without the role is PERMISSION_DENIED', async () => {
  const good = await token('carol');
  const forged = good.slice(0, -4) + (good.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  const bad = await unary(client, 'Say', {}, { authorization: `Bearer ${forged}` });
  assert.equal(bad.status.code, grpc.status.UNAUTHENTICATED);
  const denied = await unary(client, 'Say', {}, await bearer('carol', ['guest']));
  assert.equal(denied.status.code, grpc.status.PERMISSION_DENIED);
  assert.match(denied.status.details, /^no_rule_matched: /);
});

test('past the rate the call is RESOURCE_EXHAUSTED', async () => {
  const md = await bearer('dave');
  const codes: number[] = [];
  for (let i = 0; i < 6; i++) codes.push((await unary(client, 'Say', { message: String(i) }, md)).status.code);
  assert.deepEqual(codes, [0, 0, 0, 0, 0, grpc.status.RESOURCE_EXHAUSTED]);
});

test('a service no route names is UNIMPLEMENTED; an upstream that is down is UNAVAILABLE', async () => {
  const other = new grpc.Client(`127.0.0.1:${new URL(gw.url).port}`, grpc.credentials.createInsecure());
  const call = (path: string) => new Promise<grpc.StatusObject>((resolve) => {
    const c = other.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), () => {});
    c.on('status', resolve);
  });
  assert.equal((await call('/other.Service/Method')).code, grpc.status.UNIMPLEMENTED);
  const down = await call('/gatehouse.test.Down/Method');
  assert.equal(down.code, grpc.status.UNAVAILABLE);
  assert.match(down.details, /^upstream_unreachable: /);
  other.close();
});

test('server streaming: every message in order, then OK', async () => {
  const md = new grpc.Metadata();
  md.set('authorization', (await bearer('erin')).authorization!);
  const call = (client.Count as (r: unknown, m: grpc.Metadata) => grpc.ClientReadableStream<EchoReply>)({ count: 5, delayMs: 10 }, md);
  const got: string[] = [];
  call.on('data', (r: EchoReply) => got.push(r.message));
  const status = await new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  assert.equal(status.code, grpc.status.OK, status.details);
  assert.deepEqual(got, ['n0', 'n1', 'n2', 'n3', 'n4']);
});

test('bidirectional streaming: each reply arrives before the next message is sent (full duplex through the gateway)', async () => {
  const md = new grpc.Metadata();
  md.set('authorization', (await bearer('frank')).authorization!);
  const call = (client.Chat as (m: grpc.Metadata) => grpc.ClientDuplexStream<unknown, EchoReply>)(md);
  const replies: string[] = [];
  for (const word of ['one', 'two', 'three']) {
    const next = new Promise<EchoReply>((resolve) => call.once('data', resolve));
    call.write({ message: word });
    replies.push((await next).message);
  }
  call.end();
  const status = await new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  assert.equal(status.code, grpc.status.OK, status.details);
  assert.deepEqual(replies, ['re: one', 're: two', 're: three']);
});

test('TLS on both sides: ALPN h2 from the client and to the upstream', async () => {
  const tlsClient = echoClient(`localhost:${new URL(tlsGw.url).port}`, pki.caPem);
  const sign = await tlsGw.gateway.ref.current.devIssuer!.sign({ sub: 'grace', roles: ['reader'] });
  const { reply, status } = await unary(tlsClient, 'Say', { message: 'tls' }, { authorization: `Bearer ${sign}` });
  tlsClient.close();
  assert.equal(status.code, grpc.status.OK, status.details);
  assert.equal(reply?.message, 'hello tls');
  assert.equal(reply?.subject, 'grace');
});

/** A gRPC call sent by hand (no client-side deadline): the head, the DATA bytes and the trailers the gateway sent. */
async function rawCall(path: string, message: Buffer, headers: Record<string, string>): Promise<{ head: http2.IncomingHttpHeaders; bytes: number; trailers: http2.IncomingHttpHeaders | undefined }> {
  const session = http2.connect(gw.url);
  try {
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    message.copy(frame, 5);
    stream.end(frame);
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    let bytes = 0;
    stream.on('response', (h) => { head = h; });
    stream.on('trailers', (t) => { trailers = t; });
    stream.on('data', (c: Buffer) => { bytes += c.length; });
    await new Promise((resolve) => stream.on('close', resolve));
    return { head, bytes, trailers };
  } finally {
    session.close();
  }
}

/** EchoRequest { count, delay_ms } in protobuf: fields 2 and 3, varints. */
function echoRequest(count: number, delayMs: number): Buffer {
  const varint = (n: number): number[] => { const out: number[] = []; do { out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0)); n >>>= 7; } while (n > 0); return out; };
  return Buffer.from([0x10, ...varint(count), 0x18, ...varint(delayMs)]);
}

async function until(pred: () => boolean): Promise<boolean> {
  for (let i = 0; i < 100 && !pred(); i++) await new Promise((r) => setTimeout(r, 20));
  return pred();
}

test('the upstream is given what is left of the deadline, never more than the client set', async () => {
  const { reply, status } = await unary(client, 'Say', { message: 'x' }, await bearer('heidi'), 5000);
  assert.equal(status.code, grpc.status.OK, status.details);
  const left = Number(reply?.deadlineLeftMs);
  assert.ok(left > 0 && left <= 5000, `deadline left upstream: ${reply?.deadlineLeftMs}`);
});

test('grpc-timeout passes before the upstream answers: DEADLINE_EXCEEDED from the gateway, and the upstream call is cancelled', async () => {
  const { head, trailers } = await rawCall('/gatehouse.test.Echo/Slow', echoRequest(0, 10_000), { ...(await bearer('ivan')), 'grpc-timeout': '300m' });
  assert.equal(head[':status'], 200);
  assert.equal(trailers?.['grpc-status'], String(grpc.status.DEADLINE_EXCEEDED));
  assert.match(String(trailers?.['grpc-message']), /^grpc_deadline_exceeded: /);
  assert.ok(await until(() => up.cancelled.includes('Slow')), 'the upstream call was cancelled');
  const line = await gw.auditLine((l) => l.error === 'grpc_deadline_exceeded' && l.path === '/gatehouse.test.Echo/Slow');
  assert.equal(line?.grpc_status, grpc.status.DEADLINE_EXCEEDED);
  assert.equal(line?.status, 504);
});

test('a stream still running at its deadline ends with DEADLINE_EXCEEDED in trailers after the messages already relayed', async () => {
  const { head, bytes, trailers } = await rawCall('/gatehouse.test.Echo/Count', echoRequest(100, 50), { ...(await bearer('judy')), 'grpc-timeout': '400m' });
  assert.equal(head[':status'], 200);
  assert.ok(bytes > 0, 'some messages came through before the deadline');
  assert.equal(trailers?.['grpc-status'], String(grpc.status.DEADLINE_EXCEEDED));
  assert.ok(await until(() => up.cancelled.includes('Count')), 'the upstream stream was cancelled');
});

test('an unreadable grpc-timeout is INVALID_ARGUMENT and never reaches the upstream', async () => {
  for (const value of ['5 S', '123456789m', '10x', '-1S']) {
    const { bytes, trailers } = await rawCall('/gatehouse.test.Echo/Say', echoRequest(0, 0), { ...(await bearer('mallory')), 'grpc-timeout': value });
    assert.equal(trailers?.['grpc-status'], String(grpc.status.INVALID_ARGUMENT), value);
    assert.equal(bytes, 0, 'no reply message: the service was not called');
    assert.match(String(trailers?.['grpc-message']), /^grpc_timeout_invalid: /);
  }
});
