/** mTLS client certificates: the listener verifies the chain; this turns the verified certificate into an Identity. */
import type { Static } from '@sinclair/typebox';
import type { Refusal } from '../../errors.js';
import { makeIdentity, type Identity } from '../../identity/identity.js';
import type { MtlsProviderSchema } from './schema.js';
import { LRUCache } from 'lru-cache';
import { ABSENT, type AuthnOutcome, type Authenticator, type AuthnRequest, type ProviderContext } from '../authenticator.js';
import { certificateFacts, isAbsent, type CertificateFacts } from './certificate.js';
import { compileRoleRules, type RoleMapper } from './roles.js';

type SubjectSource = Static<typeof MtlsProviderSchema>['subject'];

/** Identities per certificate fingerprint: a client's certificate is read once, not per request. */
const CACHE_SIZE = 10_000;

/** Caller-facing reasons for node's verification errors (OpenSSL X509_V_ERR names). */
const VERIFY_DETAIL: Record<string, string> = {
  CERT_HAS_EXPIRED: 'the client certificate has expired',
  CERT_NOT_YET_VALID: 'the client certificate is not yet valid',
  CERT_REVOKED: 'the client certificate is revoked',
  INVALID_PURPOSE: 'the client certificate is not meant for client authentication',
  UNABLE_TO_GET_ISSUER_CERT: 'the client certificate is not issued by a trusted CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the client certificate is not issued by a trusted CA',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the client certificate is not issued by a trusted CA',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the client certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'the client certificate is not issued by a trusted CA',
  CERT_SIGNATURE_FAILURE: 'the client certificate signature is invalid',
};

const SUBJECT_NAME: Record<SubjectSource, string> = { cn: 'subject CN', spiffe: 'SPIFFE ID', fingerprint: 'fingerprint', 'san-dns': 'DNS SAN' };

/** A certificate read once: the identity it yields, or why it yields none. */
type Built = { readonly identity: Identity } | { readonly refusal: Refusal };

function subjectOf(facts: CertificateFacts, source: SubjectSource): string | undefined {
  switch (source) {
    case 'cn': return facts.cn;
    case 'spiffe': return facts.spiffe;
    case 'fingerprint': return facts.fingerprint;
    case 'san-dns': return facts.dns[0];
  }
}

/** The claims an mTLS identity carries (allow rules can test them with `claims:`). */
function claimsOf(facts: CertificateFacts): Record<string, unknown> {
  const claims: Record<string, unknown> = { fingerprint: facts.fingerprint, dns: facts.dns, uri: facts.uris };
  if (facts.cn !== undefined) claims.cn = facts.cn;
  if (facts.spiffe !== undefined) claims.spiffe = facts.spiffe;
  if (facts.serial !== undefined) claims.serial = facts.serial;
  if (facts.issuerCn !== undefined) claims.issuer_cn = facts.issuerCn;
  if (facts.notAfter !== undefined) claims.exp = facts.notAfter;
  return claims;
}

function build(name: string, facts: CertificateFacts, source: SubjectSource, roles: RoleMapper): Built {
  const subject = subjectOf(facts, source);
  if (subject === undefined) return { refusal: { code: 'client_certificate_invalid', detail: `the client certificate has no ${SUBJECT_NAME[source]}` } };
  const identity = makeIdentity({
    provider: name,
    ...(facts.issuerCn !== undefined ? { issuer: facts.issuerCn } : {}),
    subject,
    roles: roles(facts),
    groups: [],
    scopes: [],
    authMethod: 'mtls',
    claims: claimsOf(facts),
    ...(facts.notAfter !== undefined ? { expiresAt: facts.notAfter } : {}),
  });
  return { identity };
}

/** Build the mtls authenticator for provider `name` (at config load). */
export function createMtlsAuthenticator(name: string, cfg: Static<typeof MtlsProviderSchema>, _ctx: ProviderContext): Authenticator {
  const source: SubjectSource = cfg.subject ?? 'cn';
  const roles = compileRoleRules(cfg.roles);
  const cache = new LRUCache<string, Built>({ max: CACHE_SIZE });

  function builtFor(fingerprint256: string, read: () => CertificateFacts): Built {
    let found = cache.get(fingerprint256);
    if (found === undefined) cache.set(fingerprint256, (found = build(name, read(), source, roles)));
    return found;
  }

  /** The certificate was verified by the handshake: every answer is immediate. */
  function probe(req: AuthnRequest): AuthnOutcome | typeof ABSENT {
      const tls = req.tls;
      // No certificate (or no TLS): not ours, so a route can fall back to another method.
      if (tls === undefined || isAbsent(tls.peerCertificate)) return ABSENT;
      if (!tls.authorized) {
        const detail = VERIFY_DETAIL[tls.authorizationError ?? ''] ?? 'the client certificate could not be verified';
        return { ok: false, refusal: { code: 'client_certificate_invalid', detail }, provider: name };
      }
      const cert = tls.peerCertificate;
      const found = builtFor(cert.fingerprint256, () => certificateFacts(cert));
      if ('refusal' in found) return { ok: false, refusal: found.refusal, provider: name };
      const { identity } = found;
      // The handshake checked validity once; a keep-alive connection can outlive the certificate.
      if (identity.expiresAt !== undefined && Date.now() / 1000 >= identity.expiresAt) {
        return { ok: false, refusal: { code: 'client_certificate_invalid', detail: VERIFY_DETAIL.CERT_HAS_EXPIRED! }, provider: name };
      }
      return { ok: true, identity };
  }

  return {
    kind: 'mtls',
    credentialHeaders: [],
    hint: 'a client certificate',
    bearer: false,
    ready: true,
    start: () => Promise.resolve(),
    probe,
    authenticate: (req) => Promise.resolve(probe(req)),
    close() { cache.clear(); },
  };
}
