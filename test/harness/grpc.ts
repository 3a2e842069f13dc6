/**
 * A real gRPC service (@grpc/grpc-js) and its client for the gateway's gRPC tests: test/fixtures/echo.proto
 * loaded with @grpc/proto-loader. The service answers with what it saw (the identity header, the
 * time left of its deadline) and records the calls that were cancelled.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

export interface EchoRequest { message?: string; count?: number; delayMs?: number }
export interface EchoReply { message: string; subject: string; deadlineLeftMs: string; index: number }

const PROTO = fileURLToPath(new URL('../fixtures/echo.proto', import.meta.url));
const definition = loadSync(PROTO, { keepCase: false, defaults: true });
const loaded = grpc.loadPackageDefinition(definition) as unknown as { gatehouse: { test: { Echo: grpc.ServiceClientConstructor } } };
export const EchoClient = loaded.gatehouse.test.Echo;

export interface GrpcUpstream {
  /** `http://127.0.0.1:port` (h2c) or `https://localhost:port` (TLS). */
  readonly url: string;
  /** Names of calls the service saw cancelled (the client or the gateway gave up on them). */
  readonly cancelled: string[];
  /** Messages the Chat call received, in order. */
  readonly chatReceived: string[];
  close(): Promise<void>;
}

const first = (md: grpc.Metadata, name: string): string => String(md.get(name)[0] ?? '');

/** grpc-js keeps `grpc-timeout` and `te` out of the metadata: the deadline is read back as the time left. */
function reply(call: { metadata: grpc.Metadata; getDeadline(): grpc.Deadline }, message: string, index = 0): EchoReply {
  const deadline = call.getDeadline();
  const left = deadline instanceof Date ? deadline.getTime() - Date.now() : deadline === Infinity ? '' : deadline - Date.now();
  return { message, subject: first(call.metadata, 'x-gatehouse-subject'), deadlineLeftMs: String(left), index };
}

/** Start the Echo service on a free port, cleartext (h2c) or with `tls`. */
export async function startGrpcUpstream(tls?: { cert: string; key: string }): Promise<GrpcUpstream> {
  const server = new grpc.Server();
  const cancelled: string[] = [];
  const chatReceived: string[] = [];
  server.addService(EchoClient.service, {
    Say(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
      cb(null, reply(call, `hello ${call.request.message ?? ''}`));
    },
    Fail(_call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
      const trailer = new grpc.Metadata();
      trailer.set('x-detail', 'no such thing');
      cb({ code: grpc.status.NOT_FOUND, details: 'nothing here: é', metadata: trailer });
    },
    Slow(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
      const timer = setTimeout(() => cb(null, reply(call, 'late')), call.request.delayMs ?? 0);
      call.on('cancelled', () => { clearTimeout(timer); cancelled.push('Slow'); });
    },
    Count(call: grpc.ServerWritableStream<EchoRequest, EchoReply>) {
      let i = 0;
      const next = (): void => {
        if (call.cancelled) return;
        if (i >= (call.request.count ?? 0)) return void call.end();
        call.write(reply(call, `n${i}`, i));
        i++;
        setTimeout(next, call.request.delayMs ?? 0);
      };
      call.on('cancelled', () => cancelled.push('Count'));
      next();
    },
    Chat(call: grpc.ServerDuplexStream<EchoRequest, EchoReply>) {
      let i = 0;
      call.on('data', (req: EchoRequest) => {
        chatReceived.push(req.message ?? '');
        call.write(reply(call, `re: ${req.message ?? ''}`, i++));
      });
      call.on('end', () => call.end());
    },
  });
  const creds = tls === undefined ? grpc.ServerCredentials.createInsecure() : grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }]);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))));
  return {
    url: tls === undefined ? `http://127.0.0.1:${port}` : `https://localhost:${port}`,
    cancelled,
    chatReceived,
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** A client of the Echo service at `target` (`host:port`), cleartext or trusting `ca`. */
export function echoClient(target: string, ca?: string): grpc.Client & Record<string, (...args: unknown[]) => unknown> {
  const creds = ca === undefined ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(Buffer.from(ca));
  const options = ca === undefined ? {} : { 'grpc.ssl_target_name_override': 'localhost' };
  return new EchoClient(target, creds, options) as unknown as grpc.Client & Record<string, (...args: unknown[]) => unknown>;
}

/** One unary call; resolves with the reply, the response headers and the status (code, details, trailers). */
export function unary(client: grpc.Client & Record<string, (...args: unknown[]) => unknown>, method: string, request: EchoRequest, metadata: Record<string, string> = {}, deadlineMs?: number): Promise<{ reply: EchoReply | undefined; status: grpc.StatusObject; headers: grpc.Metadata | undefined }> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve) => {
    let out: EchoReply | undefined;
    let headers: grpc.Metadata | undefined;
    const options = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
    const call = client[method]!(request, md, options, (_err: unknown, value: EchoReply | undefined) => { out = value; }) as grpc.ClientUnaryCall;
    call.on('metadata', (m: grpc.Metadata) => { headers = m; });
    call.on('status', (status: grpc.StatusObject) => setImmediate(() => resolve({ reply: out, status, headers })));
  });
}
