import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWK } from 'jose';
import pino, { type Logger } from 'pino';
import { loadDevIssuer } from '../../src/authn/dev/dev-issuer.js';
import { makeTestPki } from '../harness/tls.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startUpstream } from '../harness/upstream.js';
import { rawRequest } from '../harness/http.js';
import { fingerprintOf, httpsGet, issueClientCert, replaceFile, servedFingerprint, waitFor } from './tls-clients.js';

// Reload tells the truth: what it can change live it rotates for real (listener certificate, key
// and client CAs through setSecureContext; the assertion signing key through the JWKS), and what
// waits for the next start it names in a warning.

type Line = Record<string, unknown>;

function capturedLog(): { log: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => { lines.push(JSON.parse(s) as Line); } });
  return { log, lines };
}

const fileRef = (path: string): string => `\${file:${path}}`;
const secretsDir = (): string => mkdtempSync(join(tmpdir(), 'gatehouse-rotate-'));

/** Rewrite the gateway's config file (by rename) with `change` applied. */
interface EditableConfig { listen: { port?: number; maxBodySize?: string; tls?: { clientAuth?: string } } }

function editConfig(gw: TestGateway, change: (config: EditableConfig) => void): void {
  const config = JSON.parse(readFileSync(gw.configFile, 'utf8')) as EditableConfig;
  change(config);
  replaceFile(gw.configFile, JSON.stringify(config, null, 2));
}

test('listener certificate and key from ${file:} rotate on reload: new connections get the new one, an open keep-alive connection finishes on the old one', async () => {
  const [one, two] = [makeTestPki(), makeTestPki()];
  const dir = secretsDir();
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  writeFileSync(certFile, one.certPem);
  writeFileSync(keyFile, one.keyPem);
  const upstream = await startUpstream();
  const { log, lines } = capturedLog();
  const gw = await startGateway({
    listen: { idleTimeout: '60s', tls: { cert: fileRef(certFile), key: fileRef(keyFile) } },
    routes: [{ name: 'all', match: { path: '/*' }, public: true, upstream: { url: upstream.url } }],
  }, { log });
  const port = gw.gateway.port;
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  const both = [one.caPem, two.caPem];
  try {
    const before = await httpsGet(port, '/before', { ca: both, agent });
    assert.equal(before.status, 200);
    assert.equal(before.fingerprint, fingerprintOf(one.certPem));

    replaceFile(certFile, two.certPem);
    replaceFile(keyFile, two.keyPem);
    assert.equal(await gw.gateway.reload(), true);

    assert.equal(await servedFingerprint(port), fingerprintOf(two.certPem), 'a new connection gets the new certificate');
    const fresh = await httpsGet(port, '/fresh', { ca: two.caPem });
    assert.equal(fresh.status, 200, 'verified against the new CA alone');
    await assert.rejects(httpsGet(port, '/fresh', { ca: one.caPem }), 'the old CA no longer verifies what new connections are served');

    const open = await httpsGet(port, '/still-open', { ca: both, agent });
    assert.equal(open.reused, true, 'the keep-alive connection opened before the reload is still open');
    assert.equal(open.status, 200);
    assert.equal(open.fingerprint, fingerprintOf(one.certPem));

    assert.ok(lines.some((l) => l.msg === 'configuration reloaded' && l.tls === 'rotated'), 'the reload says it rotated the certificate');
    assert.ok(!lines.some((l) => l.level === 40 && Array.isArray(l.restart)), 'nothing waits for a restart');
  } finally {
    agent.destroy();
    await gw.stop();
    await upstream.close();
    for (const d of [dir, one.dir, two.dir]) rmSync(d, { recursive: true, force: true });
  }
});

test('a certificate and key that do not match fail the reload; the previous certificate keeps serving', async () => {
  const [one, two] = [makeTestPki(), makeTestPki()];
  const dir = secretsDir();
  const keyFile = join(dir, 'tls.key');
  writeFileSync(keyFile, one.keyPem);
  const upstream = await startUpstream();
  const { log, lines } = capturedLog();
  const gw = await startGateway({
    listen: { tls: { cert: one.certPem, key: fileRef(keyFile) } },
    routes: [{ name: 'all', match: { path: '/*' }, public: true, upstream: { url: upstream.url } }],
  }, { log });
  const port = gw.gateway.port;
  try {
    replaceFile(keyFile, two.keyPem);
    assert.equal(await gw.gateway.reload(), false, 'the mismatched key is refused');
    assert.equal(await servedFingerprint(port), fingerprintOf(one.certPem));
    assert.equal((await httpsGet(port, '/x', { ca: one.caPem })).status, 200);
    const failed = lines.find((l) => l.msg === 'configuration reload failed; still serving the previous configuration');
    assert.match(String(failed?.err), /^listen\.tls: /);
    assert.doesNotMatch(JSON.stringify(lines), /PRIVATE KEY/, 'no key material in the log');
  } finally {
    await gw.stop();
    await upstream.close();
    for (const d of [dir, one.dir, two.dir]) rmSync(d, { recursive: true, force: true });
  }
});

test('clientCa rotation (clientAuth: required): after reload a client certificate from the new CA is accepted, one from the old CA refused', async () => {
  const server = makeTestPki();
  const [oldCa, newCa] = [makeTestPki(), makeTestPki()];
  const oldClient = issueClientCert(oldCa, 'old-client');
  const newClient = issueClientCert(newCa, 'new-client');
  const dir = secretsDir();
  const caFile = join(dir, 'clients-ca.pem');
  writeFileSync(caFile, oldCa.caPem);
  const upstream = await startUpstream();
  const gw = await startGateway({
    listen: { tls: { cert: server.certPem, key: server.keyPem, clientCa: fileRef(caFile), clientAuth: 'required' } },
    routes: [{ name: 'all', match: { path: '/*' }, public: true, upstream: { url: upstream.url } }],
  });
  const port = gw.gateway.port;
  const ca = server.caPem;
  try {
    assert.equal((await httpsGet(port, '/x', { ca, client: oldClient })).status, 200);
    await assert.rejects(httpsGet(port, '/x', { ca, client: newClient }), 'not trusted yet');

    replaceFile(caFile, newCa.caPem);
    assert.equal(await gw.gateway.reload(), true);

    assert.equal((await httpsGet(port, '/x', { ca, client: newClient })).status, 200, 'the new CA is trusted');
    await assert.rejects(httpsGet(port, '/x', { ca, client: oldClient }), 'the old CA no longer is');
    await assert.rejects(httpsGet(port, '/x', { ca }), 'a certificate is still required');
  } finally {
    await gw.stop();
    await upstream.close();
    for (const d of [dir, server.dir, oldCa.dir, newCa.dir]) rmSync(d, { recursive: true, force: true });
  }
});

test('a change of the client-certificate mode (clientAuth) is named in a warning and waits for the next start', async () => {
  const server = makeTestPki();
  const upstream = await startUpstream();
  const { log, lines } = capturedLog();
  const gw = await startGateway({
    listen: { tls: { cert: server.certPem, key: server.keyPem, clientCa: server.caPem, clientAuth: 'required' } },
    routes: [{ name: 'all', match: { path: '/*' }, public: true, upstream: { url: upstream.url } }],
  }, { log });
  const port = gw.gateway.port;
  try {
    editConfig(gw, (c) => { c.listen.tls!.clientAuth = 'optional'; });
    assert.equal(await gw.gateway.reload(), true);
    const warning = lines.find((l) => l.level === 40 && Array.isArray(l.restart));
    assert.deepEqual(warning?.restart, ['listen.tls.clientAuth']);
    assert.equal(warning?.msg, 'listen.tls.clientAuth changed: takes effect at the next start');
    await assert.rejects(httpsGet(port, '/x', { ca: server.caPem }), 'the running listener still requires a certificate');
  } finally {
    await gw.stop();
    await upstream.close();
    rmSync(server.dir, { recursive: true, force: true });
  }
});

const newKeyPem = (): string => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const kidOf = (pem: string): Promise<string> => calculateJwkThumbprint(createPublicKey(pem).export({ format: 'jwk' }) as JWK);
const kids = (set: JSONWebKeySet): (string | undefined)[] => set.keys.map((k) => k.kid);

test('assertion key rotation: the new kid is published and signs, the old key stays published until its assertions expired, then is dropped', async () => {
  const [pemA, pemB] = [newKeyPem(), newKeyPem()];
  const [kidA, kidB] = [await kidOf(pemA), await kidOf(pemB)];
  const dir = secretsDir();
  const keyFile = join(dir, 'assertion.pem');
  writeFileSync(keyFile, pemA);
  const assertions: string[] = [];
  const upstream = await startUpstream((req, res) => {
    assertions.push(String(req.headers['x-gatehouse-assertion']));
    res.writeHead(200).end('ok');
  });
  const { log, lines } = capturedLog();
  const gw = await startGateway({
    dev: true,
    assertion: { privateKey: fileRef(keyFile) },
    routes: [{ name: 'whoami', match: { path: '/whoami' }, authenticate: ['dev'], upstream: { url: upstream.url, assertion: { ttl: '2s' } } }],
  }, { log });
  const token = await (await loadDevIssuer(true, gw.dir)).sign({ sub: 'alice' });
  const whoami = async (): Promise<string> => {
    assert.equal((await rawRequest(gw.url, 'GET', '/whoami', { authorization: `Bearer ${token}` })).status, 200);
    return assertions.at(-1)!;
  };
  const publicJwks = async (): Promise<JSONWebKeySet> => (await rawRequest(gw.url, 'GET', '/.well-known/jwks.json')).json<JSONWebKeySet>();
  const adminJwks = async (): Promise<JSONWebKeySet> => (await rawRequest(gw.adminUrl, 'GET', '/.well-known/jwks.json')).json<JSONWebKeySet>();
  // Signature, audience and issuer, checked at the assertion's own issue time (never against the clock).
  const verify = (jwt: string, set: JSONWebKeySet) => jwtVerify(jwt, createLocalJWKSet(set), { audience: 'whoami', issuer: 'gatehouse', currentDate: new Date(decodeJwt(jwt).iat! * 1000) });
  try {
    const signedByA = await whoami();
    assert.equal(decodeProtectedHeader(signedByA).kid, kidA);
    assert.deepEqual(kids(await publicJwks()), [kidA]);
    await verify(signedByA, await publicJwks());

    replaceFile(keyFile, pemB);
    assert.equal(await gw.gateway.reload(), true);

    const published = await publicJwks();
    assert.deepEqual(kids(published), [kidB, kidA], 'the new key is published, the old one kept');
    assert.deepEqual(await adminJwks(), published);
    const signedByB = await whoami();
    assert.equal(decodeProtectedHeader(signedByB).kid, kidB, 'new assertions (not the cached one) are signed with the new key');
    await verify(signedByB, published);
    await verify(signedByA, published);
    assert.ok(lines.some((l) => l.msg === 'configuration reloaded' && l.assertionKey === 'rotated'), 'the reload says it rotated the key');

    const after = await waitFor('the retired key to be dropped', async () => {
      const set = await publicJwks();
      return set.keys.length === 1 ? set : undefined;
    });
    assert.deepEqual(kids(after), [kidB]);
    assert.deepEqual(await adminJwks(), after);
    await assert.rejects(verify(signedByA, after), 'the old key is no longer published');
    assert.equal(decodeProtectedHeader(await whoami()).kid, kidB);
  } finally {
    await gw.stop();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a reload that changes listen.port warns that it takes effect at the next start; a live setting does not warn; a generated key survives', async () => {
  const upstream = await startUpstream();
  const { log, lines } = capturedLog();
  const gw = await startGateway({ routes: [{ name: 'a', match: { path: '/a' }, public: true, upstream: { url: upstream.url } }] }, { log });
  try {
    const jwks = (await rawRequest(gw.url, 'GET', '/.well-known/jwks.json')).json<JSONWebKeySet>();
    editConfig(gw, (c) => { c.listen.port = 1; c.listen.maxBodySize = '1kb'; });
    assert.equal(await gw.gateway.reload(), true);
    const warnings = lines.filter((l) => l.level === 40 && Array.isArray(l.restart));
    assert.ok(warnings.length > 0, 'a warning names the setting');
    for (const w of warnings) {
      assert.deepEqual(w.restart, ['listen.port']);
      assert.equal(w.msg, 'listen.port changed: takes effect at the next start');
    }
    assert.equal((await rawRequest(gw.url, 'GET', '/a')).status, 200, 'still serving on the port it started on');
    assert.deepEqual((await rawRequest(gw.url, 'GET', '/.well-known/jwks.json')).json(), jwks, 'the generated key is kept');
  } finally {
    await gw.stop();
    await upstream.close();
  }
});
