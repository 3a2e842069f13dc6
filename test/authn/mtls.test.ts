import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { PeerCertificate } from 'node:tls';
import { createMtlsAuthenticator } from '../../src/authn/mtls/mtls.js';
import { splitAltNames } from '../../src/authn/mtls/certificate.js';
import { compilePattern } from '../../src/authn/mtls/roles.js';
import { ABSENT, type AuthnOutcome, type AuthnRequest, type ClientTls } from '../../src/authn/authenticator.js';
import { authenticateWith, authnRequest, probeNow } from '../harness/authn.js';
import { tlsServerOptions } from '../../src/server/listen.js';
import { ConfigError, loadConfigText } from '../../src/config/load.js';

// Unit level: node's PeerCertificate shapes built by hand (the e2e suite uses real certificates).
const FP = 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89';
const FP_HEX = FP.replace(/:/g, '').toLowerCase();

function cert(over: Partial<Record<keyof PeerCertificate, unknown>> = {}): PeerCertificate {
  return {
    subject: { CN: 'billing-api' }, issuer: { CN: 'clients-ca' }, subjectaltname: 'URI:spiffe://example.org/ns/billing/sa/api, DNS:Billing.Internal',
    fingerprint256: FP, serialNumber: '1000', valid_from: 'Jan  1 00:00:00 2020 GMT', valid_to: 'Jan  1 00:00:00 2099 GMT', ...over,
  } as unknown as PeerCertificate;
}

const req = (tls?: ClientTls): AuthnRequest => authnRequest(tls ? { tls } : {});
const ok = (peerCertificate: PeerCertificate): AuthnRequest => req({ authorized: true, peerCertificate });
const ctx = { baseDir: '.' };

// Certificates are decided from memory: every answer below comes from probe, without a promise.
function identityOf(o: AuthnOutcome | undefined) {
  assert.ok(o?.ok, JSON.stringify(o));
  return o.identity;
}

function refusalOf(o: AuthnOutcome | undefined): { code: string; detail?: string; provider?: string } {
  assert.ok(o && !o.ok, JSON.stringify(o));
  return { ...o.refusal, ...(o.provider ? { provider: o.provider } : {}) };
}

test('no TLS, or TLS without a client certificate: not mine', async () => {
  const a = createMtlsAuthenticator('mesh', { type: 'mtls', subject: 'cn' }, ctx);
  const noCert = req({ authorized: false, authorizationError: 'UNABLE_TO_GET_ISSUER_CERT', peerCertificate: {} as PeerCertificate });
  assert.equal(a.probe(req()), ABSENT);
  assert.equal(a.probe(noCert), ABSENT);
  assert.equal(await authenticateWith(a, req()), undefined);
  assert.equal(await authenticateWith(a, noCert), undefined);
});

test('a presented but unverified certificate is refused with the reason, never falls through', () => {
  const a = createMtlsAuthenticator('mesh', { type: 'mtls', subject: 'cn' }, ctx);
  const cases: [string | undefined, RegExp][] = [
    ['CERT_HAS_EXPIRED', /expired/], ['CERT_NOT_YET_VALID', /not yet valid/], ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', /trusted CA/],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', /self-signed/], ['SOMETHING_NEW', /could not be verified/], [undefined, /could not be verified/],
  ];
  for (const [error, detail] of cases) {
    const r = refusalOf(probeNow(a, req({ authorized: false, ...(error ? { authorizationError: error } : {}), peerCertificate: cert() })));
    assert.equal(r.code, 'client_certificate_invalid');
    assert.equal(r.provider, 'mesh');
    assert.match(r.detail!, detail);
  }
});

test('subject choices: cn, spiffe, fingerprint, san-dns; a missing one is refused', () => {
  const make = (subject: 'cn' | 'spiffe' | 'fingerprint' | 'san-dns') => createMtlsAuthenticator('m', { type: 'mtls', subject }, ctx);
  assert.equal(identityOf(probeNow(make('cn'), ok(cert()))).subject, 'billing-api');
  assert.equal(identityOf(probeNow(make('spiffe'), ok(cert()))).subject, 'spiffe://example.org/ns/billing/sa/api');
  assert.equal(identityOf(probeNow(make('fingerprint'), ok(cert()))).subject, FP_HEX);
  assert.equal(identityOf(probeNow(make('san-dns'), ok(cert()))).subject, 'Billing.Internal');
  const bare = cert({ subjectaltname: undefined, subject: {} });
  assert.match(refusalOf(probeNow(make('spiffe'), ok(bare))).detail!, /no SPIFFE ID/);
  assert.match(refusalOf(probeNow(make('cn'), ok(bare))).detail!, /no subject CN/);
  assert.match(refusalOf(probeNow(make('san-dns'), ok(bare))).detail!, /no DNS SAN/);
});

test('ambiguous names count as absent: two CNs, two SPIFFE IDs', () => {
  const cn = createMtlsAuthenticator('m', { type: 'mtls', subject: 'cn' }, ctx);
  assert.equal(refusalOf(probeNow(cn, ok(cert({ subject: { CN: ['admin', 'billing'] } })))).code, 'client_certificate_invalid');
  const spiffe = createMtlsAuthenticator('m', { type: 'mtls', subject: 'spiffe' }, ctx);
  const two = cert({ subjectaltname: 'URI:spiffe://a/x, URI:spiffe://a/admin', fingerprint256: FP.replace('AB', 'BA') });
  assert.equal(refusalOf(probeNow(spiffe, ok(two))).code, 'client_certificate_invalid');
});

test('the identity: mtls method, issuer CN, claims for allow rules, expiry; built once per certificate', async () => {
  const a = createMtlsAuthenticator('mesh', { type: 'mtls', subject: 'spiffe' }, ctx);
  const id = identityOf(probeNow(a, ok(cert())));
  assert.equal(id.authMethod, 'mtls');
  assert.equal(id.provider, 'mesh');
  assert.equal(id.issuer, 'clients-ca');
  assert.equal(id.expiresAt, Date.UTC(2099, 0, 1) / 1000);
  assert.deepEqual({ ...id.claims }, {
    cn: 'billing-api', spiffe: 'spiffe://example.org/ns/billing/sa/api', dns: ['Billing.Internal'], uri: ['spiffe://example.org/ns/billing/sa/api'],
    fingerprint: FP_HEX, serial: '1000', issuer_cn: 'clients-ca', exp: Date.UTC(2099, 0, 1) / 1000,
  });
  assert.ok(Object.isFrozen(id) && Object.isFrozen(id.claims));
  assert.equal(identityOf(probeNow(a, ok(cert()))), id, 'the same certificate reuses its identity');
  assert.equal(identityOf(await authenticateWith(a, ok(cert()))), id, 'authenticate answers as probe does');
});

test('a certificate that expired during a keep-alive connection is refused', () => {
  const a = createMtlsAuthenticator('mesh', { type: 'mtls', subject: 'cn' }, ctx);
  const r = refusalOf(probeNow(a, ok(cert({ valid_to: 'Jan  2 00:00:00 2020 GMT' }))));
  assert.equal(r.code, 'client_certificate_invalid');
  assert.match(r.detail!, /expired/);
});

test('role rules: every condition of a rule must match; matching rules combine', () => {
  const a = createMtlsAuthenticator('mesh', {
    type: 'mtls', subject: 'cn',
    roles: [
      { match: { spiffe: 'spiffe://example.org/ns/billing/*/*' }, roles: ['billing'] },
      { match: { spiffe: 'spiffe://example.org/ns/*' }, roles: ['too-shallow'] },
      { match: { dns: '*.internal', issuerCn: 'clients-ca' }, roles: ['internal', 'billing'] },
      { match: { dns: '*.internal', issuerCn: 'other-ca' }, roles: ['other'] },
      { match: { fingerprint: FP }, roles: ['pinned'] },
      { match: { cn: ['ops-*', 'billing-api'] }, roles: ['named'] },
    ],
  }, ctx);
  assert.deepEqual(identityOf(probeNow(a, ok(cert()))).roles, ['billing', 'internal', 'pinned', 'named']);
});

test('patterns: * is one or more characters other than /; the rest is literal', () => {
  const p = compilePattern('spiffe://org/ns/*');
  assert.equal(p('spiffe://org/ns/svc'), true);
  assert.equal(p('spiffe://org/ns/'), false);
  assert.equal(p('spiffe://org/ns/a/b'), false);
  assert.equal(compilePattern('a.b')('axb'), false, 'dots are literal');
  assert.equal(compilePattern('*.Example.com', true)('api.example.COM'), true);
  assert.equal(compilePattern('exact')('exactly'), false);
});

test('SAN text: a quoted value cannot smuggle another entry', () => {
  assert.deepEqual(splitAltNames('DNS:a, URI:spiffe://x/y'), ['DNS:a', 'URI:spiffe://x/y']);
  assert.deepEqual(splitAltNames('URI:"spiffe://x/y, DNS:evil.internal", DNS:b'), ['URI:spiffe://x/y, DNS:evil.internal', 'DNS:b']);
  assert.equal(splitAltNames('URI:"unterminated'), undefined);
  const a = createMtlsAuthenticator('m', { type: 'mtls', subject: 'san-dns', roles: [{ match: { dns: 'evil.internal' }, roles: ['x'] }] }, ctx);
  const crafted = cert({ subjectaltname: 'URI:"spiffe://x/y, DNS:evil.internal"' });
  assert.equal(refusalOf(probeNow(a, ok(crafted))).code, 'client_certificate_invalid', 'no DNS SAN was really present');
});

test('listener options: none, optional, required; clientAuth without clientCa is an error', () => {
  const base = { cert: 'C', key: 'K' };
  assert.deepEqual(tlsServerOptions(base), { cert: 'C', key: 'K' });
  assert.deepEqual(tlsServerOptions({ ...base, clientCa: 'CA' }), { cert: 'C', key: 'K', ca: 'CA', requestCert: true, rejectUnauthorized: false });
  assert.deepEqual(tlsServerOptions({ ...base, clientCa: 'CA', clientAuth: 'required' }), { cert: 'C', key: 'K', ca: 'CA', requestCert: true, rejectUnauthorized: true });
  assert.deepEqual(tlsServerOptions({ ...base, clientCa: 'CA', clientAuth: 'none' }), { cert: 'C', key: 'K' });
  assert.throws(() => tlsServerOptions({ ...base, clientAuth: 'required' }), /needs listen\.tls\.clientCa/);
});

test('config: a role rule must have at least one condition; unknown match keys are refused', () => {
  const yaml = (match: string) => `
listen: { tls: { cert: PEM, key: PEM, clientCa: PEM } }
providers:
  mesh: { type: mtls, roles: [{ match: ${match}, roles: [a] }] }
routes:
  - { name: r, match: { path: /x }, authenticate: [mesh], upstream: { url: http://127.0.0.1:1 } }
`;
  assert.equal(loadConfigText(yaml('{ cn: a }'), '/tmp/g.yaml').config.providers!.mesh!.type, 'mtls');
  assert.throws(() => loadConfigText(yaml('{}'), '/tmp/g.yaml'), ConfigError);
  assert.throws(() => loadConfigText(yaml('{ subject: a }'), '/tmp/g.yaml'), ConfigError);
});

test('docs/providers/mtls.md: the example config loads and builds', () => {
  const doc = readFileSync(new URL('../../docs/providers/mtls.md', import.meta.url), 'utf8');
  const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)![1]!.replace(/\$\{file:[^}]+\}/g, 'PEM');
  const { config } = loadConfigText(yaml, '/tmp/gatehouse.yaml');
  assert.deepEqual(tlsServerOptions(config.listen!.tls!), { cert: 'PEM', key: 'PEM', ca: 'PEM', requestCert: true, rejectUnauthorized: false });
  const mesh = config.providers!.mesh!;
  assert.equal(mesh.type, 'mtls');
  if (mesh.type !== 'mtls') return;
  const a = createMtlsAuthenticator('mesh', mesh, ctx);
  const id = identityOf(probeNow(a, ok(cert({ subjectaltname: 'URI:spiffe://prod.example/ns/billing/sa/api' }))));
  assert.deepEqual(id.roles, ['billing']);
});
