// examples/grpc.yaml as docs/grpc.md shows it, run by a real gateway: TLS (ALPN h2) in front of a
// cleartext gRPC server (h2c), Keycloak-shaped tokens, @grpc/grpc-js as client and server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { startExample } from '../harness/examples.js';
import type { TestGateway } from '../harness/gateway.js';
import { makeTestPki } from '../harness/tls.js';
import { keycloak, startSigningKeys, type SigningKeys } from '../harness/provider-tokens.js';

const ISS = 'https://sso.example.com/realms/acme';
const raw = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
/** Two services of the example's upstream, bytes in and out: each answers with the subject the gateway vouched for. */
const SERVICE = {
  Get: { path: '/orders.v1.Orders/Get', requestStream: false, responseStream: false, ...raw },
  Purge: { path: '/orders.v1.Admin/Purge', requestStream: false, responseStream: false, ...raw },
} as unknown as grpc.ServiceDefinition;

let keys: SigningKeys;
let pki: ReturnType<typeof makeTestPki>;
let server: grpc.Server;
let gw: TestGateway;
let client: grpc.Client;

before(async () => {
  keys = await startSigningKeys();
  pki = makeTestPki();
  server = new grpc.Server();
  const answer = (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from(`${call.getPath()} for ${String(call.metadata.get('x-gatehouse-subject')[0])}`));
  server.addService(SERVICE, { Get: answer, Purge: answer });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  gw = await startExample('grpc.yaml', {
    jwksUri: keys.jwksUri,
    files: { '/etc/gatehouse/tls/server.pem': pki.certPem, '/etc/gatehouse/tls/server.key': pki.keyPem },
    replace: { 'http://orders.internal:50051': `http://127.0.0.1:${port}` },
  });
  client = new grpc.Client(`localhost:${new URL(gw.url).port}`, grpc.credentials.createSsl(Buffer.from(pki.caPem)));
});
after(async () => {
  client.close();
  await gw.stop();
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  await keys.close();
  rmSync(pki.dir, { recursive: true, force: true });
});

async function call(path: string, roles?: string[]): Promise<{ status: grpc.StatusObject; reply: string | undefined }> {
  const md = new grpc.Metadata();
  if (roles !== undefined) {
    const token = await keys.sign(keycloak.token({ iss: ISS, typ: 'Bearer', aud: 'orders-grpc', azp: 'orders-web', sub: 'alice-id', realmRoles: roles, clientRoles: {} }));
    md.set('authorization', `Bearer ${token}`);
  }
  return new Promise((resolve) => {
    let reply: string | undefined;
    const c = client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), md, (_e, v) => { reply = v?.toString(); });
    c.on('status', (status) => setImmediate(() => resolve({ status, reply })));
  });
}

test('a reader calls Orders through TLS in front and h2c behind, as the example says', async () => {
  const { status, reply } = await call('/orders.v1.Orders/Get', ['orders.read']);
  assert.equal(status.code, grpc.status.OK, status.details);
  assert.equal(reply, '/orders.v1.Orders/Get for alice-id');
});

test("the example's refusals are gRPC statuses: no token, a reader on Admin, a service it does not route", async () => {
  assert.equal((await call('/orders.v1.Orders/Get')).status.code, grpc.status.UNAUTHENTICATED);
  assert.equal((await call('/orders.v1.Admin/Purge', ['orders.read'])).status.code, grpc.status.PERMISSION_DENIED);
  assert.equal((await call('/orders.v1.Admin/Purge', ['orders.admin'])).status.code, grpc.status.OK);
  assert.equal((await call('/billing.v1.Invoices/List', ['orders.read'])).status.code, grpc.status.UNIMPLEMENTED);
});
