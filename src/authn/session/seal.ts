/**
 * Session sealing: the session is JSON, deflated, then a JWE (`dir` + `A256GCM`, through jose) under
 * a 32-byte key derived by HKDF-SHA256 from each configured secret. The protected header's `kid`
 * names the key, so opening picks it directly; a key no longer listed cannot open anything. The
 * compact JWE is split into cookie-sized chunks by cookies.ts.
 */
import { createHash, hkdfSync } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { CompactEncrypt, compactDecrypt } from 'jose';

/** A derived sealing key. */
interface SealKey {
  readonly kid: string;
  readonly key: Uint8Array;
}

const INFO = 'gatehouse session v1';
/** Inflated plaintext above this is refused (a deflate bomb in a cookie cannot cost more). */
const MAX_PLAINTEXT = 256 * 1024;

/** Derive one key per secret (HKDF-SHA256; the salt is fixed so every replica derives the same key). */
function deriveKeys(secrets: readonly string[]): SealKey[] {
  return secrets.map((secret) => {
    const key = new Uint8Array(hkdfSync('sha256', secret, 'gatehouse/session', INFO, 32));
    const kid = createHash('sha256').update(key).digest('base64url').slice(0, 12);
    return { kid, key };
  });
}

/** Seals and opens session payloads with a key list (the first seals; all open). */
export interface Sealer {
  /** The compact JWE of `payload` under the first key. */
  seal(payload: object): Promise<string>;
  /** The payload, or undefined when the JWE is malformed, tampered with or under an unlisted key. */
  open(jwe: string): Promise<Record<string, unknown> | undefined>;
  /** Sessions kept server-side (stored-sealer.ts): remove the one `value` names. */
  forget?(value: string): Promise<void>;
  close?(): void;
}

/** A sealer for `secrets`, newest first (at least one). */
export function createSealer(secrets: readonly string[]): Sealer {
  if (secrets.length === 0) throw new Error('a session sealer needs at least one key');
  const keys = deriveKeys(secrets);
  const byKid = new Map(keys.map((k) => [k.kid, k] as const));
  const current = keys[0]!;
  return {
    async seal(payload) {
      const plain = deflateRawSync(Buffer.from(JSON.stringify(payload)));
      return new CompactEncrypt(plain).setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: current.kid }).encrypt(current.key);
    },
    async open(jwe) {
      const dot = jwe.indexOf('.');
      if (dot <= 0) return undefined;
      let header: { kid?: unknown; alg?: unknown; enc?: unknown };
      try {
        header = JSON.parse(Buffer.from(jwe.slice(0, dot), 'base64url').toString('utf8')) as typeof header;
      } catch {
        return undefined;
      }
      const key = typeof header.kid === 'string' ? byKid.get(header.kid) : undefined;
      if (key === undefined) return undefined;
      try {
        const { plaintext } = await compactDecrypt(jwe, key.key, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] });
        const json = inflateRawSync(plaintext, { maxOutputLength: MAX_PLAINTEXT }).toString('utf8');
        const value: unknown = JSON.parse(json);
        return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
