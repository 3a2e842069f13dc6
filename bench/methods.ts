// Cost per request of each authentication method: the same load generator (bench/load.mjs, undici
// keep-alive, 16 connections) against the same gateway build, one route per method, each with an
// audit line per request. Reports req/s and the ratio to a public route on the same listener.
// Usage: npm run bench:methods   (knobs: BENCH_SECONDS, BENCH_ROUNDS)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { benchFile, GATEWAY_READY, measureLoad, median, startChild, stopChildren } from './lib.js';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { generateApiKey, formatApiKeyHash } from '../src/authn/apikey/format.js';
import { startOidcProvider } from '../test/harness/oidc-provider.js';
import { makeTestPki } from '../test/harness/tls.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = 16;
const here = benchFile;
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-methods-'));


function clientCert(pkiDir: string): { cert: string; key: string } {
  const f = (n: string): string => join(pkiDir, n);
  const ossl = (...a: string[]): void => { execFileSync('openssl', a, { cwd: pkiDir, stdio: 'ignore' }); };
  ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('client.key'), '-out', f('client.csr'), '-subj', '/CN=bench-client');
  writeFileSync(f('client.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=URI:spiffe://bench/ns/default/sa/client\n');
  ossl('x509', '-req', '-in', f('client.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('client.pem'), '-days', '2', '-extfile', f('client.ext'));
  return { cert: readFileSync(f('client.pem'), 'utf8'), key: readFileSync(f('client.key'), 'utf8') };
}

async function sigv4Headers(port: number, path: string, akid: string, secret: string): Promise<Record<string, string>> {
  const signer = new SignatureV4({ service: 'execute-api', region: 'us-east-1', sha256: Hash.bind(null, 'sha256'), credentials: { accessKeyId: akid, secretAccessKey: secret } });
  const signed = await signer.sign(new HttpRequest({ method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}` } }));
  const { host: _host, ...headers } = signed.headers;
  return headers;
}

// Upstream, identity provider, keys and certificates.
const [, upstreamPort] = (await startChild([here('./upstream.mjs')], /^(\d+)\n/)) as RegExpMatchArray;
const upstream = `http://127.0.0.1:${upstreamPort}`;
const op = await startOidcProvider();
const pki = makeTestPki();
const client = clientCert(pki.dir);
const apiKey = generateApiKey();
writeFileSync(join(dir, 'api-keys.yaml'), JSON.stringify({ keys: [{ id: apiKey.id, name: 'bench-partner', roles: ['reader'], hash: formatApiKeyHash(apiKey.key) }] }));
const AKID = 'AKIABENCHMARK0000001';
const SECRET = 'benchSecretKey/K7MDENG+bPxRfiCYEXAMPLE';
writeFileSync(join(dir, 'aws-keys.yaml'), JSON.stringify({ [AKID]: { secret: SECRET, principal: 'arn:aws:iam::123456789012:role/bench', roles: ['reader'] } }));

const upstreamCfg = { url: upstream };
const common = { admin: { port: 0 }, audit: { sink: 'file', path: join(dir, 'audit.log') } };
writeFileSync(join(dir, 'http.yaml'), JSON.stringify({
  ...common, listen: { port: 0, host: '127.0.0.1' },
  providers: {
    op: { type: 'oidc', issuer: op.issuer, audience: op.audience },
    keys: { type: 'api-key', keys: 'api-keys.yaml' },
    aws: { type: 'sigv4', service: 'execute-api', region: 'us-east-1', credentials: 'aws-keys.yaml' },
    opaque: { type: 'introspection', issuer: op.issuer, clientId: op.introspection.clientId, clientSecret: op.introspection.clientSecret, cacheTtl: '60s' },
  },
  routes: [
    { name: 'public', match: { path: '/public/*' }, public: true, upstream: upstreamCfg },
    { name: 'jwt', match: { path: '/jwt/*' }, authenticate: ['op'], upstream: upstreamCfg },
    { name: 'apikey', match: { path: '/apikey/*' }, authenticate: ['keys'], allow: [{ roles: ['reader'] }], upstream: upstreamCfg },
    { name: 'sigv4', match: { path: '/sigv4/*' }, authenticate: ['aws'], allow: [{ roles: ['reader'] }], upstream: upstreamCfg },
    { name: 'opaque', match: { path: '/opaque/*' }, authenticate: ['opaque'], upstream: upstreamCfg },
  ],
}));
writeFileSync(join(dir, 'https.yaml'), JSON.stringify({
  ...common, listen: { port: 0, host: '127.0.0.1', tls: { cert: pki.certPem, key: pki.keyPem, clientCa: pki.caPem, clientAuth: 'optional' } },
  providers: { mesh: { type: 'mtls', subject: 'spiffe' } },
  routes: [
    { name: 'public-tls', match: { path: '/public/*' }, public: true, upstream: upstreamCfg },
    { name: 'mtls', match: { path: '/mtls/*' }, authenticate: ['mesh'], upstream: upstreamCfg },
  ],
}));

const READY = GATEWAY_READY;
const [, httpPort] = (await startChild([here('../bin/gatehouse.js'), 'start', '-c', join(dir, 'http.yaml')], READY)) as RegExpMatchArray;
const [, httpsPort] = (await startChild([here('../bin/gatehouse.js'), 'start', '-c', join(dir, 'https.yaml')], READY)) as RegExpMatchArray;
const http = `http://127.0.0.1:${httpPort}`;
const https = `https://localhost:${httpsPort}`;

const jwt = await op.clientCredentialsToken({ scope: 'read' });
const opaque = await op.clientCredentialsToken({ resource: op.opaqueAudience, scope: 'read' });
const sigv4 = await sigv4Headers(Number(httpPort), '/sigv4/x', AKID, SECRET);

interface Scenario { name: string; baseline: string; url: string; headers?: Record<string, string>; tls?: boolean; cert?: boolean }
const scenarios: Scenario[] = [
  { name: 'public route (HTTP)', baseline: 'public route (HTTP)', url: `${http}/public/x` },
  { name: 'JWT RS256 bearer (oidc, token reused)', baseline: 'public route (HTTP)', url: `${http}/jwt/x`, headers: { authorization: `Bearer ${jwt}` } },
  { name: 'API key', baseline: 'public route (HTTP)', url: `${http}/apikey/x`, headers: { 'x-api-key': apiKey.key } },
  { name: 'AWS SigV4 (header form, empty body)', baseline: 'public route (HTTP)', url: `${http}/sigv4/x`, headers: sigv4 },
  { name: 'introspection (opaque token, cached)', baseline: 'public route (HTTP)', url: `${http}/opaque/x`, headers: { authorization: `Bearer ${opaque}` } },
  { name: 'public route (HTTPS)', baseline: 'public route (HTTPS)', url: `${https}/public/x`, tls: true },
  { name: 'mTLS client certificate (HTTPS)', baseline: 'public route (HTTPS)', url: `${https}/mtls/x`, tls: true, cert: true },
];

async function measure(s: Scenario): Promise<number> {
  const opts = {
    url: s.url, seconds: SECONDS, connections: CONNECTIONS, headers: s.headers ?? {},
    ...(s.tls ? { ca: pki.caPem } : {}), ...(s.cert ? { cert: client.cert, key: client.key } : {}),
  };
  return measureLoad(opts);
}

try {
  const results = new Map<string, number[]>(scenarios.map((s) => [s.name, []]));
  for (const s of scenarios) await measure({ ...s }); // JIT warm-up pass, not recorded
  for (let round = 0; round < ROUNDS; round++) for (const s of scenarios) results.get(s.name)!.push(await measure(s));
    console.log(`\n${ROUNDS} alternating rounds of ${SECONDS} s (+1 s warm-up), bench/load.mjs with ${CONNECTIONS} keep-alive connections;`);
  console.log('gateway (compiled, one process), upstream and load generator share this machine\'s cores.\n');
  console.log('| method | req/s (median) | ratio to the public route on the same listener |\n|---|--:|--:|');
  for (const s of scenarios) {
    const m = median(results.get(s.name)!);
    const base = median(results.get(s.baseline)!);
    console.log(`| ${s.name} | ${m.toFixed(0)} | ${(m / base).toFixed(2)} |`);
  }
} finally {
  stopChildren();
  await op.stop();
}
