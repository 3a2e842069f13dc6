import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { calculateJwkThumbprint, createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWK } from 'jose';
import { loadDevIssuer } from '../../src/authn/dev/dev-issuer.js';
import { makeTestPki } from '../harness/tls.js';
import { spawnCli } from '../harness/run-cli.js';
import { startUpstream } from '../harness/upstream.js';
import { writeConfig } from '../harness/gateway.js';
import { rawRequest } from '../harness/http.js';
import { fingerprintOf, httpsGet, replaceFile, servedFingerprint, waitFor } from '../server/tls-clients.js';
import { alive } from '../harness/process.js';

// `workers: 2` through the real CLI: the primary owns the assertion key and hands it to the
// workers; every worker applies the listener certificate. A reload rotates both, and the admin
// JWKS (primary) and the public one (each worker) stay the same set of keys.

const READY = /"port":(\d+),"admin":(\d+),"workers":2[^\n]*gatehouse listening/;
const RELOADED = 'configuration reloaded in every worker';

const newKeyPem = (): string => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const kidOf = (pem: string): Promise<string> => calculateJwkThumbprint(createPublicKey(pem).export({ format: 'jwk' }) as JWK);
const kids = (set: JSONWebKeySet): (string | undefined)[] => set.keys.map((k) => k.kid);
const fileRef = (path: string): string => `\${file:${path}}`;


interface Readyz { status: string; workers: { worker: number; pid?: number; ready: boolean }[] }

test('workers: 2 — a reload rotates the listener certificate in every worker and the assertion key in the admin and the public JWKS; a restarted worker gets the current key', async () => {
  const [one, two] = [makeTestPki(), makeTestPki()];
  const [pemA, pemB] = [newKeyPem(), newKeyPem()];
  const [kidA, kidB] = [await kidOf(pemA), await kidOf(pemB)];
  const assertions: string[] = [];
  const upstream = await startUpstream((req, res) => {
    const assertion = req.headers['x-gatehouse-assertion'];
    if (typeof assertion === 'string') assertions.push(assertion);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  const file = writeConfig('{}');
  const dir = dirname(file);
  const secret = (name: string, text: string): string => { const p = join(dir, name); writeFileSync(p, text); return p; };
  const config = (cert: string, key: string, assertionKey: string): string => JSON.stringify({
    workers: 2,
    dev: true,
    listen: { port: 0, host: '127.0.0.1', shutdownGrace: '5s', tls: { cert: fileRef(cert), key: fileRef(key) } },
    admin: { port: 0, host: '127.0.0.1' },
    audit: { sink: 'off' },
    assertion: { privateKey: fileRef(assertionKey) },
    routes: [{ name: 'whoami', match: { path: '/whoami' }, authenticate: ['dev'], upstream: { url: upstream.url, assertion: { ttl: '4s' } } }],
  });
  writeFileSync(file, config(secret('cert-1.pem', one.certPem), secret('key-1.pem', one.keyPem), secret('assertion-a.pem', pemA)));
  const token = await (await loadDevIssuer(true, dir)).sign({ sub: 'alice' });
  const gw = await spawnCli(['start', '-c', file], READY);
  const port = Number(gw.match[1]);
  const admin = `http://127.0.0.1:${gw.match[2]}`;
  const ca = [one.caPem, two.caPem];
  // Every request on a new connection, so the primary hands them to both workers in turn.
  const adminJwks = async (): Promise<JSONWebKeySet> => (await rawRequest(admin, 'GET', '/.well-known/jwks.json')).json<JSONWebKeySet>();
  const publicJwks = async (): Promise<JSONWebKeySet[]> => {
    const sets: JSONWebKeySet[] = [];
    for (let i = 0; i < 8; i++) sets.push((await httpsGet(port, '/.well-known/jwks.json', { ca })).json<JSONWebKeySet>());
    return sets;
  };
  const whoami = async (): Promise<string[]> => {
    const from = assertions.length;
    for (let i = 0; i < 8; i++) assert.equal((await httpsGet(port, '/whoami', { ca, headers: { authorization: `Bearer ${token}` } })).status, 200);
    return assertions.slice(from);
  };
  const served = async (): Promise<Set<string>> => {
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) seen.add(await servedFingerprint(port));
    return seen;
  };
  const verifyAt = (jwt: string, set: JSONWebKeySet) => jwtVerify(jwt, createLocalJWKSet(set), { audience: 'whoami', issuer: 'gatehouse', currentDate: new Date(decodeJwt(jwt).iat! * 1000) });
  try {
    assert.deepEqual(kids(await adminJwks()), [kidA]);
    for (const set of await publicJwks()) assert.deepEqual(kids(set), [kidA]);
    const signedByA = await whoami();
    assert.ok(signedByA.every((a) => decodeProtectedHeader(a).kid === kidA));
    assert.deepEqual(await served(), new Set([fingerprintOf(one.certPem)]));

    // New secret files, then the config that names them, replaced in one rename: the watcher reloads.
    const reloads = gw.stderr().split(RELOADED).length;
    replaceFile(file, config(secret('cert-2.pem', two.certPem), secret('key-2.pem', two.keyPem), secret('assertion-b.pem', pemB)));
    await waitFor('the reload', () => gw.stderr().split(RELOADED).length > reloads);
    const line = gw.stderr().split('\n').find((l) => l.includes(RELOADED) && l.includes('"assertionKey":"rotated"'));
    assert.ok(line, 'the primary says it rotated the assertion key');
    assert.match(line, /"tls":"rotated"/);

    const published = await adminJwks();
    assert.deepEqual(kids(published), [kidB, kidA], 'the admin JWKS publishes the new key and keeps the old one');
    for (const set of await publicJwks()) assert.deepEqual(set, published, 'every worker publishes the same keys');
    assert.deepEqual(await served(), new Set([fingerprintOf(two.certPem)]), 'every worker serves the new certificate');
    const signedByB = await whoami();
    assert.equal(new Set(signedByB).size, 2, 'both workers signed');
    for (const a of signedByB) {
      assert.equal(decodeProtectedHeader(a).kid, kidB);
      await verifyAt(a, published);
    }
    for (const a of new Set(signedByA)) await verifyAt(a, published);

    const current = await waitFor('the old key to be retired', async () => {
      const set = await adminJwks();
      return set.keys.length === 1 ? set : undefined;
    });
    assert.deepEqual(kids(current), [kidB]);
    for (const set of await publicJwks()) assert.deepEqual(set, current);

    // A worker that dies is replaced by one that gets the current key from the primary.
    const readyz = async (): Promise<{ status: number; body: Readyz }> => {
      const r = await rawRequest(admin, 'GET', '/readyz');
      return { status: r.status, body: r.json<Readyz>() };
    };
    const victim = (await readyz()).body.workers[0]!.pid!;
    process.kill(victim, 'SIGKILL');
    await waitFor('victim gone', () => !alive(victim));
    await waitFor('a replacement worker', async () => {
      const r = await readyz();
      return r.status === 200 && !r.body.workers.some((w) => w.pid === victim);
    });
    for (const set of await publicJwks()) assert.deepEqual(set, current);
    for (const a of await whoami()) assert.equal(decodeProtectedHeader(a).kid, kidB);
    assert.deepEqual(await served(), new Set([fingerprintOf(two.certPem)]));

    gw.child.kill('SIGTERM');
    assert.equal(await gw.exited, 0);
  } finally {
    gw.child.kill('SIGKILL');
    await upstream.close();
    for (const d of [dir, one.dir, two.dir]) rmSync(d, { recursive: true, force: true });
  }
});
