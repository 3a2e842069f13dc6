// A Service Bus route with an Entra credential instead of a SAS key, end to end: a real gateway
// process (`gatehouse start`) publishes with the real @azure/service-bus and @azure/identity SDKs to
// the Service Bus stand-in (test/harness/servicebus-standin.ts, here over TLS with a certificate made
// now, trusted through NODE_EXTRA_CA_CERTS in the gateway process), which accepts only the access
// token that a managed identity endpoint stand-in (test/harness/managed-identity-standin.ts, the
// App Service shape DefaultAzureCredential reads from IDENTITY_ENDPOINT) issued for
// `https://servicebus.azure.net` to the identity the namespace trusts. Both are cloud services.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { makeTestPki } from '../harness/tls.js';
import { startServiceBusStandIn, type ServiceBusStandIn } from '../harness/servicebus-standin.js';
import { startManagedIdentityStandIn, type ManagedIdentityStandIn } from '../harness/managed-identity-standin.js';
import { spawnCli } from '../harness/run-cli.js';
import { readAuditFile, writeConfig } from '../harness/gateway.js';

const READY = /"port":(\d+)[^\n]*gatehouse listening/;
const OTHER = '00000000-0000-0000-0000-00000000a11e';
const MISSING = '00000000-0000-0000-0000-0000000000ff';
let identity: ManagedIdentityStandIn;
let sb: ServiceBusStandIn;
let gw: Awaited<ReturnType<typeof spawnCli>> | undefined;
let port: number;
let auditFile: string;

before(async () => {
  const pki = makeTestPki();
  const caFile = join(pki.dir, 'ca.pem');
  writeFileSync(caFile, pki.caPem);
  auditFile = join(pki.dir, 'audit.log');
  identity = await startManagedIdentityStandIn('https://servicebus.azure.net', [MISSING]);
  // The namespace trusts the system-assigned identity only.
  sb = await startServiceBusStandIn({ queues: ['orders'], tls: pki, entraTokens: () => [identity.tokenFor()] });
  const upstream = (credential: Record<string, unknown>): Record<string, unknown> => ({ type: 'servicebus', namespace: sb.namespace, credential, destination: 'orders', timeout: '5s' });
  const file = writeConfig(stringify({
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    audit: { sink: 'file', path: auditFile },
    routes: [
      { name: 'orders', match: { path: '/orders', methods: ['POST'] }, public: true, upstream: upstream({ type: 'default' }) },
      { name: 'untrusted', match: { path: '/untrusted', methods: ['POST'] }, public: true, upstream: upstream({ type: 'default', managedIdentityClientId: OTHER }) },
      { name: 'no-identity', match: { path: '/no-identity', methods: ['POST'] }, public: true, upstream: upstream({ type: 'default', managedIdentityClientId: MISSING }) },
    ],
  }));
  gw = await spawnCli(['start', '-c', file], READY, { NODE_EXTRA_CA_CERTS: caFile, ...identity.env });
  port = Number(gw.match[1]);
});

after(async () => {
  gw?.child.kill('SIGTERM');
  await gw?.exited;
  await sb?.stop();
  await identity?.close();
});

/** The first audit line matching `pred`, waiting up to 2 s for the file sink. */
async function auditLine(pred: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown> | undefined> {
  for (let i = 0; i < 80; i++) {
    const hit = readAuditFile(auditFile).find(pred);
    if (hit !== undefined) return hit;
    await new Promise((r) => setTimeout(r, 25));
  }
  return undefined;
}

const post = async (path: string, body: string): Promise<{ status: number; json: Record<string, unknown> }> => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
};

test('with the namespace and DefaultAzureCredential (a managed identity), the message is sent with an Entra token over TLS', async () => {
  const res = await post('/orders', '{"sku":"E-1"}');
  assert.equal(res.status, 202, `${JSON.stringify(res.json)}\n${gw!.stderr()}`);
  const m = sb.messages('orders').at(-1);
  assert.equal(m?.body.toString(), '{"sku":"E-1"}');
  assert.equal(m?.messageId, res.json.id);
  assert.ok(sb.acceptedTokenTypes.includes('jwt'), 'the namespace accepted an Entra token (put-token type jwt), not a SAS token');
  assert.ok(identity.requests.some((r) => r.clientId === undefined && r.resource?.startsWith('https://servicebus.azure.net')), 'the token was for Service Bus');
});

test('an identity the namespace does not trust is 503 broker_refused, and nothing is stored', async () => {
  const before = sb.messages('orders').length;
  const res = await post('/untrusted', '{"sku":"E-2"}');
  assert.equal(res.status, 503);
  assert.equal(res.json.code, 'broker_refused');
  assert.ok(identity.requests.some((r) => r.clientId === OTHER), 'the user-assigned identity asked for its own token');
  assert.equal(sb.messages('orders').length, before);
  const line = await auditLine((l) => l.route === 'untrusted');
  assert.match(String(line?.error_detail), /UnauthorizedAccess/);
});

test('an identity that cannot get a token at all is 503 broker_refused too', async () => {
  const res = await post('/no-identity', '{"sku":"E-3"}');
  assert.equal(res.status, 503);
  assert.equal(res.json.code, 'broker_refused');
  assert.ok(identity.requests.some((r) => r.clientId === MISSING));
  const line = await auditLine((l) => l.route === 'no-identity');
  assert.match(String(line?.error_detail), /AuthenticationError/, 'the audit line says why');
});
