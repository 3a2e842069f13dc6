/** What a verified client certificate says about its holder, read from node's PeerCertificate. */
import type { PeerCertificate } from 'node:tls';

/** The facts identity and role mapping use; all strings are exactly as in the certificate. */
export interface CertificateFacts {
  /** Subject CN; undefined when absent or repeated (two CNs are ambiguous, so neither counts). */
  readonly cn: string | undefined;
  /** The one `spiffe://` URI SAN; undefined when there is none or more than one (an X.509-SVID has exactly one). */
  readonly spiffe: string | undefined;
  readonly dns: readonly string[];
  readonly uris: readonly string[];
  /** SHA-256 of the DER certificate, lower-case hex without colons. */
  readonly fingerprint: string;
  readonly serial: string | undefined;
  readonly issuerCn: string | undefined;
  /** notAfter as epoch seconds (undefined if node's date text cannot be parsed). */
  readonly notAfter: number | undefined;
}

/** Normalize a SHA-256 fingerprint (`AB:CD:…` or `abcd…`) to lower-case hex. */
export function normalizeFingerprint(text: string): string {
  return text.replace(/:/g, '').toLowerCase();
}

function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

// A JSON string literal as node writes quoted SAN values (see splitAltNames); control characters only escaped.
// eslint-disable-next-line no-control-regex
const JSON_STRING = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/;

/**
 * Split node's `subjectaltname` text (`DNS:a, URI:spiffe://x, IP Address:…`). Node gives no
 * structured SAN list; it quotes a value holding `,`, `"` or control characters as a JSON string
 * literal (CVE-2021-44532), which this undoes exactly as node's own tls.checkServerIdentity does, so
 * a crafted SAN cannot smuggle a second entry. Returns undefined on text node would not produce.
 */
export function splitAltNames(text: string): string[] | undefined {
  const out: string[] = [];
  let current = '';
  let offset = 0;
  while (offset < text.length) {
    const sep = text.indexOf(', ', offset);
    const quote = text.indexOf('"', offset);
    if (quote !== -1 && (sep === -1 || quote < sep)) {
      current += text.slice(offset, quote);
      const m = JSON_STRING.exec(text.slice(quote));
      if (!m) return undefined;
      current += JSON.parse(m[0]) as string;
      offset = quote + m[0].length;
    } else if (sep !== -1) {
      out.push(current + text.slice(offset, sep));
      current = '';
      offset = sep + 2;
    } else {
      current += text.slice(offset);
      offset = text.length;
    }
  }
  out.push(current);
  return out;
}

function altNames(cert: PeerCertificate): { dns: string[]; uris: string[] } {
  const dns: string[] = [];
  const uris: string[] = [];
  const entries = cert.subjectaltname ? splitAltNames(cert.subjectaltname) ?? [] : [];
  for (const entry of entries) {
    if (entry.startsWith('DNS:')) dns.push(entry.slice(4));
    else if (entry.startsWith('URI:')) uris.push(entry.slice(4));
  }
  return { dns, uris };
}

/** Read the facts of a (verified) peer certificate. */
export function certificateFacts(cert: PeerCertificate): CertificateFacts {
  const { dns, uris } = altNames(cert);
  const spiffe = uris.filter((u) => u.toLowerCase().startsWith('spiffe://'));
  const notAfter = Date.parse(cert.valid_to) / 1000;
  return {
    cn: single(cert.subject?.CN),
    spiffe: spiffe.length === 1 ? spiffe[0] : undefined,
    dns,
    uris,
    fingerprint: normalizeFingerprint(cert.fingerprint256),
    serial: single(cert.serialNumber),
    issuerCn: single(cert.issuer?.CN),
    notAfter: Number.isFinite(notAfter) ? Math.floor(notAfter) : undefined,
  };
}

/** True when the peer sent no certificate (node then returns an empty object). */
export function isAbsent(cert: PeerCertificate | null | undefined): boolean {
  return !cert || typeof cert.fingerprint256 !== 'string' || cert.fingerprint256 === '';
}
