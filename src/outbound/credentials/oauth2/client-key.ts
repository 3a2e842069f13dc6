/** The private key of `private_key_jwt`: a PEM (PKCS#8, PKCS#1 or SEC1) imported for WebCrypto, its algorithm by key type. */
import { createPrivateKey } from 'node:crypto';
import { importPKCS8, type CryptoKey } from 'jose';

export interface ClientKey {
  readonly key: CryptoKey;
  readonly kid?: string;
}

/** RSA → RS256, P-256 → ES256, P-384 → ES384, Ed25519 → EdDSA. */
function algorithmOf(type: string | undefined, curve: string | undefined): string {
  if (type === 'rsa') return 'RS256';
  if (type === 'ec' && curve === 'prime256v1') return 'ES256';
  if (type === 'ec' && curve === 'secp384r1') return 'ES384';
  if (type === 'ed25519') return 'EdDSA';
  throw new Error(`oauth2: privateKey must be an RSA, P-256, P-384 or Ed25519 key (got ${type ?? 'unknown'}${curve ? ` ${curve}` : ''})`);
}

export async function loadClientKey(pem: string, kid?: string): Promise<ClientKey> {
  let pkcs8: string;
  let alg: string;
  try {
    const key = createPrivateKey(pem);
    alg = algorithmOf(key.asymmetricKeyType, key.asymmetricKeyDetails?.namedCurve);
    pkcs8 = key.export({ type: 'pkcs8', format: 'pem' }) as string;
  } catch (err) {
    // Never echo the PEM.
    if (err instanceof Error && err.message.startsWith('oauth2:')) throw err;
    throw new Error('oauth2: privateKey is not a PEM private key', { cause: err });
  }
  return { key: await importPKCS8(pkcs8, alg), ...(kid !== undefined ? { kid } : {}) };
}
