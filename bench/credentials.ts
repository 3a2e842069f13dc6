// Cost per request of each outbound credential kind on its cached path: one gateway (compiled, one
// process), one route per kind, all to the same upstream, each authenticating the caller with the same
// reused RS256 token; the baseline is the same route with no outbound credential (for the client
// certificate: the same HTTPS upstream without one). Tokens come from the
// in-process oidc-provider (client credentials and an RFC 8693 grant, test/harness), AWS keys from the STS
// stand-in of the tests (AssumeRoleWithWebIdentity, driven by the AWS SDK in the gateway), fetched once
// and then served from the credential's cache, so the figures are what a credential costs once warm
// (SigV4 still signs every request: that is its per-request cost).
// Usage: npm run bench:credentials   (knobs: BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchFile, GATEWAY_READY, measureLoad, median, startChild, stopChildren } from './lib.js';
import { startOidcProvider } from '../test/harness/oidc-provider.js';
import { TOKEN_EXCHANGE, tokenGrants } from '../test/harness/token-grants.js';
import { startStsStandIn } from '../test/harness/aws-standin.js';
import { OpensslCa } from '../test/harness/openssl-ca.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-credentials-'));
const SECRET = `bench-${Math.random().toString(36).slice(2)}`;

const [, upstreamPort] = (await startChild([benchFile('./upstream.mjs')], /^(\d+)\n/)) as RegExpMatchArray;
const upstream = `http://127.0.0.1:${upstreamPort}`;
// The same upstream program over HTTPS, asking for a client certificate (upstream mTLS against one-way TLS).
const pki = new OpensslCa();
const ca = pki.makeCa('bench-ca');
const serverCert = pki.issue(ca, 'upstream', 'localhost', { usage: 'serverAuth', san: 'DNS:localhost,IP:127.0.0.1' });
const clientCert = pki.issue(ca, 'gateway', 'bench-gateway');
const [, tlsPort] = (await startChild([benchFile('./upstream.mjs')], /^(\d+)\n/, { ...process.env, TLS_CERT: serverCert.certFile, TLS_KEY: serverCert.keyFile, TLS_CA: ca.file })) as RegExpMatchArray;
const tlsUpstream = { url: `https://localhost:${tlsPort}`, ca: `\${file:${ca.file}}` };
let issuer = '';
const grants = await tokenGrants(() => [{ issuer, jwksUri: `${issuer}/jwks` }]);
const none = { redirect_uris: [], response_types: [] };
const op = await startOidcProvider({
  clients: [
    { ...none, client_id: 'bench-gateway', client_secret: SECRET, grant_types: ['client_credentials', TOKEN_EXCHANGE], token_endpoint_auth_method: 'client_secret_basic' },
  ],
  resourceServers: { 'api://backend': { scope: 'read', ttl: 3600 } },
  setup: grants.setup,
});
issuer = op.issuer;
const ROLE = 'arn:aws:iam::123456789012:role/bench-backend';
const sts = await startStsStandIn({ roles: { [ROLE]: { issuer: op.issuer, audience: 'api://backend', jwks: `${op.issuer}/jwks` } } });
writeFileSync(join(dir, 'secret'), SECRET);
writeFileSync(join(dir, 'backend-key'), `key-${SECRET}`);
writeFileSync(join(dir, 'aws-secret'), `aws/${SECRET}`);
const sigv4 = { type: 'sigv4', service: 'execute-api', region: 'eu-west-1' };
const client = { tokenUrl: `${op.issuer}/token`, clientId: 'bench-gateway', clientSecret: `\${file:${join(dir, 'secret')}}` };

/** Outbound credential per route, and the route it is compared with (default `none`). */
const KINDS: Record<string, { label: string; auth?: Record<string, unknown>[]; upstream?: Record<string, unknown>; baseline?: string }> = {
  none: { label: 'no outbound credential (baseline)' },
  header: { label: 'static secret header (`type: header`)', auth: [{ type: 'header', name: 'x-api-key', value: `\${file:${join(dir, 'backend-key')}}` }] },
  oauth2: { label: 'OAuth2 client credentials, cached token (`type: oauth2`)', auth: [{ type: 'oauth2', ...client, resource: 'api://backend', scope: 'read' }] },
  'token-exchange': { label: 'RFC 8693 token exchange, cached per caller (`type: token-exchange`)', auth: [{ type: 'token-exchange', ...client, audience: 'api://backend', scope: 'read' }] },
  'sigv4-static': { label: 'SigV4, static keys (`type: sigv4`, signs each request)', auth: [{ ...sigv4, credentials: { static: { accessKeyId: 'AKIABENCHMARK0000001', secretAccessKey: `\${file:${join(dir, 'aws-secret')}}` } } }] },
  'sigv4-role': {
    label: 'SigV4, per-caller role session from the gateway\'s OAuth2 token, cached keys',
    auth: [{ ...sigv4, credentials: { webIdentity: { roleArn: ROLE, token: { oauth2: { ...client, resource: 'api://backend' } }, stsEndpoint: sts.url, sessionName: 'bench-{subject}' } } }],
  },
  tls: { label: 'HTTPS upstream, CA pinned, no client certificate', upstream: tlsUpstream },
  mtls: {
    label: 'HTTPS upstream with the gateway\'s client certificate (`upstream.tls`)', baseline: 'tls',
    upstream: { ...tlsUpstream, tls: { cert: `\${file:${clientCert.certFile}}`, key: `\${file:${clientCert.keyFile}}` } },
  },
};
writeFileSync(join(dir, 'gateway.json'), JSON.stringify({
  listen: { port: 0, host: '127.0.0.1' },
  admin: { port: 0 },
  audit: { sink: 'file', path: join(dir, 'audit.log') },
  providers: { op: { type: 'oidc', issuer: op.issuer, audience: op.audience } },
  routes: Object.entries(KINDS).map(([id, k]) => ({
    name: id, match: { path: `/${id}/*` }, authenticate: ['op'], upstream: { url: upstream, ...k.upstream, ...(k.auth ? { auth: k.auth } : {}) },
  })),
}));

try {
  const [, port] = (await startChild([benchFile('../bin/gatehouse.js'), 'start', '-c', join(dir, 'gateway.json')], GATEWAY_READY)) as RegExpMatchArray;
  const caller = await op.clientCredentialsToken({ scope: 'read' });
  const measure = (id: string): Promise<number> => measureLoad({
    url: `http://127.0.0.1:${port}/${id}/x`, seconds: SECONDS, connections: CONNECTIONS, headers: { authorization: `Bearer ${caller}` },
  });
  const ids = Object.keys(KINDS);
  const results = new Map<string, number[]>(ids.map((id) => [id, []]));
  for (const id of ids) await measure(id); // warm-up pass (first token fetch, JIT), not recorded
  const tokenRequests = op.tokenRequests;
  const stsCalls = sts.calls.length;
  if (!sts.calls.some((c) => c.status === 200)) throw new Error('no role session was issued during the warm-up');
  // Each round starts one scenario later, so no kind always runs first (or right after the same neighbour).
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < ids.length; k++) {
      const id = ids[(round + k) % ids.length]!;
      results.get(id)!.push(await measure(id));
    }
  }
  if (op.tokenRequests !== tokenRequests) throw new Error(`the token endpoint was called ${op.tokenRequests - tokenRequests} times while measuring: not a cached path`);
  if (sts.calls.length !== stsCalls) throw new Error(`STS was called ${sts.calls.length - stsCalls} times while measuring: not a cached path`);
  console.log(`\n${ROUNDS} rounds (the order rotated each round) of ${SECONDS} s (+1 s warm-up), bench/load.mjs with ${CONNECTIONS} keep-alive connections;`);
  console.log('gateway (compiled, one process), upstream, identity provider and load generator share this machine\'s cores;');
  console.log('neither the token endpoint nor STS was called while measuring.\n');
  console.log('| outbound credential | req/s (median) | compared with | ratio |\n|---|--:|---|--:|');
  for (const id of ids) {
    const m = median(results.get(id)!);
    const baseline = KINDS[id]!.baseline ?? 'none';
    console.log(`| ${KINDS[id]!.label} | ${m.toFixed(0)} | ${baseline} | ${(m / median(results.get(baseline)!)).toFixed(2)} |`);
  }
} finally {
  stopChildren();
  await sts.close();
  await op.stop();
  rmSync(pki.dir, { recursive: true, force: true });
}
