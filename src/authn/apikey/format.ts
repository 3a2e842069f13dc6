/** The API key format: `gh_<id>_<secret>`, its generation and its stored hash. */
import { createHash, randomBytes } from 'node:crypto';

/** The id is public (it finds the entry); the secret is 32 random bytes, base64url (43 characters). */
const KEY_SHAPE = /^gh_([A-Za-z0-9]{4,64})_([A-Za-z0-9_-]{43,128})$/;
/** Pattern of a key id in the key file. */
export const KEY_ID_PATTERN = '^[A-Za-z0-9]{4,64}$';
/** Pattern of a stored hash: `sha256:` and 64 lowercase hex digits. */
export const KEY_HASH_PATTERN = '^sha256:[0-9a-f]{64}$';

const ID_BYTES = 8;
const SECRET_BYTES = 32;

/** The id of a well-formed key, or undefined when `key` does not have the `gh_<id>_<secret>` shape. */
export function apiKeyId(key: string): string | undefined {
  return KEY_SHAPE.exec(key)?.[1];
}

/**
 * SHA-256 of the whole key. A secret of 256 random bits cannot be guessed or brute-forced from its
 * hash, so a slow KDF (made for low-entropy passwords) would only add latency to every request.
 * Hashing the whole key binds the id to its secret.
 */
export function apiKeyDigest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** The `hash` field of a key file entry. */
export function formatApiKeyHash(key: string): string {
  return `sha256:${apiKeyDigest(key).toString('hex')}`;
}

/** The 32-byte digest stored in a `hash` field (already validated against KEY_HASH_PATTERN). */
export function parseApiKeyHash(hash: string): Buffer {
  return Buffer.from(hash.slice('sha256:'.length), 'hex');
}

/** A fresh random key and its id. */
export function generateApiKey(): { id: string; key: string } {
  const id = randomBytes(ID_BYTES).toString('hex');
  return { id, key: `gh_${id}_${randomBytes(SECRET_BYTES).toString('base64url')}` };
}
