/**
 * Two-way TLS to an HTTP upstream: the client certificate (and key) the gateway presents, checked
 * at config load so that a bad file stops the start (or the reload) with an issue naming it, and the
 * digest that makes changed material a new connection pool.
 */
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import type { ConfigIssue } from '../../config/issue.js';
import type { ShowValue } from '../../config/validate.js';
import type { HttpUpstreamSchema } from './schema.js';

type HttpUpstreamConfig = Static<typeof HttpUpstreamSchema>;

/** What the pool's connections are opened with, besides origin and SNI. */
export interface UpstreamTlsMaterial {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly passphrase?: string;
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

/** The TLS options of an upstream config (undefined for `http://` or when nothing is set). */
export function upstreamTlsMaterial(cfg: HttpUpstreamConfig): UpstreamTlsMaterial | undefined {
  const t = cfg.tls;
  const m: UpstreamTlsMaterial = {
    ...(cfg.ca !== undefined ? { ca: cfg.ca } : {}),
    ...(t?.cert !== undefined ? { cert: t.cert } : {}),
    ...(t?.key !== undefined ? { key: t.key } : {}),
    ...(t?.passphrase !== undefined ? { passphrase: t.passphrase } : {}),
    ...(t?.minVersion !== undefined ? { minVersion: t.minVersion } : {}),
  };
  return Object.keys(m).length === 0 ? undefined : m;
}

/**
 * One digest of everything that changes what a connection proves and trusts: part of the pool key,
 * so a rotated certificate gets a new pool (the old one drains) and the key holds no secret.
 */
export function tlsDigest(m: UpstreamTlsMaterial | undefined): string | null {
  if (m === undefined) return null;
  return createHash('sha256').update(JSON.stringify([m.ca ?? null, m.cert ?? null, m.key ?? null, m.passphrase ?? null, m.minVersion ?? null])).digest('base64url');
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates of a PEM bundle, or why it is not one. */
function certificates(pem: string): X509Certificate[] | string {
  const blocks = pem.match(PEM_CERT) ?? [];
  if (blocks.length === 0) return 'is not a PEM certificate (no "BEGIN CERTIFICATE" block)';
  try {
    return blocks.map((b) => new X509Certificate(b));
  } catch {
    return 'holds a PEM block that is not a valid X.509 certificate';
  }
}

/** The private key, or why it cannot be read; the key text and OpenSSL's message are never shown. */
function privateKey(pem: string, passphrase: string | undefined): KeyObject | string {
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem);
  if (encrypted && passphrase === undefined) return 'is an encrypted private key and `tls.passphrase` is not set';
  try {
    // Always a passphrase (empty when none), so OpenSSL never asks for one on a terminal.
    return createPrivateKey({ key: pem, format: 'pem', passphrase: passphrase ?? '' });
  } catch (err) {
    if (encrypted) return 'cannot be decrypted with `tls.passphrase`';
    return `is not a PEM private key (${(err as { code?: string }).code ?? 'unreadable'})`;
  }
}

/**
 * The TLS settings of an upstream at `path` (`/routes/<i>/upstream`): only for `https://`, cert
 * and key together, each file readable, the key that of the certificate, the certificate current.
 */
export function upstreamTlsIssues(cfg: HttpUpstreamConfig, path: string, show: ShowValue, now = Date.now()): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const https = /^https:/i.test(cfg.url);
  const at = (key: string): string => `${path}/tls/${key}`;
  // Names the file (`(value from ${file:…})`); a literal PEM is never echoed, not even its start.
  const source = (pointer: string, value: string): string => {
    const shown = show(pointer, value, true);
    return shown.startsWith('(value from ') ? ` ${shown}` : '';
  };
  if (cfg.ca !== undefined) {
    if (!https) issues.push({ path: `${path}/ca`, message: '`ca` is only used with an https:// upstream: use an https:// url, or remove `ca`' });
    else {
      const ca = certificates(cfg.ca);
      if (typeof ca === 'string') issues.push({ path: `${path}/ca`, message: `the CA bundle${source(`${path}/ca`, cfg.ca)} ${ca}: give the PEM certificate(s) of the CA that issued the upstream's certificate` });
    }
  }
  const t = cfg.tls;
  if (t === undefined) return issues;
  if (!https) {
    issues.push({ path: `${path}/tls`, message: '`tls` (a client certificate) is only used with an https:// upstream: use an https:// url, or remove `tls`' });
    return issues;
  }
  if (t.cert !== undefined && t.key === undefined) issues.push({ path: at('key'), message: 'missing required key "key": `tls.cert` needs the private key of that certificate' });
  if (t.key !== undefined && t.cert === undefined) issues.push({ path: at('cert'), message: 'missing required key "cert": `tls.key` needs the certificate it belongs to' });
  if (t.passphrase !== undefined && t.key === undefined) issues.push({ path: at('passphrase'), message: '`tls.passphrase` is only used with an encrypted `tls.key`' });
  if (t.cert === undefined || t.key === undefined) return issues;
  const chain = certificates(t.cert);
  if (typeof chain === 'string') issues.push({ path: at('cert'), message: `the client certificate${source(at('cert'), t.cert)} ${chain}: give the PEM certificate (chain) the upstream trusts` });
  const key = privateKey(t.key, t.passphrase);
  if (typeof key === 'string') issues.push({ path: at('key'), message: `the client key${source(at('key'), t.key)} ${key}` });
  if (typeof chain === 'string' || typeof key === 'string') return issues;
  const leaf = chain[0]!;
  if (!leaf.checkPrivateKey(key)) {
    issues.push({ path: at('key'), message: `the client key${source(at('key'), t.key)} is not the key of the certificate${source(at('cert'), t.cert)}: give the key and certificate of one pair (after a rotation, both files)` });
  }
  if (Date.parse(leaf.validTo) <= now) issues.push({ path: at('cert'), message: `the client certificate${source(at('cert'), t.cert)} expired on ${new Date(leaf.validTo).toISOString()}: renew it` });
  return issues;
}
