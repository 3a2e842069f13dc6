/** Turns a fetched JWKS into verification keys, once per key and algorithm, at fetch time. */
import { calculateJwkThumbprint, importJWK, type CryptoKey, type JWK } from 'jose';
import { algorithmFitsKey } from './key-resolver.js';

/** One published verification key, imported for every allowed algorithm it can serve. */
export interface ImportedKey {
  readonly kid?: string;
  /** Same kid, JWK alg and key material → same id, so unchanged keys survive a refresh as the same object. */
  readonly id: string;
  readonly byAlg: ReadonlyMap<string, CryptoKey>;
}

/** Raised when the document is not a key set at all (individual unusable keys are skipped). */
export class KeySetError extends Error {
  override readonly name = 'KeySetError';
}

/** A public JWKS must not carry private or symmetric key material; such entries are ignored. */
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
/** Only what a public key is made of goes to importJWK, so stray members cannot change its usages. */
const PUBLIC_MEMBERS = ['kty', 'crv', 'n', 'e', 'x', 'y'] as const;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Import the usable signature keys of `doc`, reusing unchanged keys from `previous` (by id). */
export async function importKeySet(
  doc: unknown, algorithms: readonly string[], previous: ReadonlyMap<string, ImportedKey>,
): Promise<ImportedKey[]> {
  if (!isRecord(doc) || !Array.isArray(doc.keys)) throw new KeySetError('document is not a JSON Web Key Set');
  const out: ImportedKey[] = [];
  for (const jwk of doc.keys as unknown[]) {
    const key = await importOne(jwk, algorithms, previous);
    if (key) out.push(key);
  }
  return out;
}

/** The allowed algorithms this JWK may verify, or none when it is not a usable signature key. */
function usableAlgorithms(jwk: Record<string, unknown>, algorithms: readonly string[]): string[] {
  if (typeof jwk.kty !== 'string') return [];
  if (jwk.use !== undefined && jwk.use !== 'sig') return [];
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) return [];
  if (jwk.kid !== undefined && typeof jwk.kid !== 'string') return [];
  if (SECRET_MEMBERS.some((m) => Object.hasOwn(jwk, m))) return [];
  return algorithms.filter((alg) => algorithmFitsKey(alg, jwk.kty, jwk.crv) && (jwk.alg === undefined || jwk.alg === alg));
}

async function importOne(
  raw: unknown, algorithms: readonly string[], previous: ReadonlyMap<string, ImportedKey>,
): Promise<ImportedKey | undefined> {
  if (!isRecord(raw)) return undefined;
  const algs = usableAlgorithms(raw, algorithms);
  if (algs.length === 0) return undefined;
  const jwk: JWK = {};
  for (const m of PUBLIC_MEMBERS) if (typeof raw[m] === 'string') jwk[m] = raw[m];
  let thumbprint: string;
  try {
    thumbprint = await calculateJwkThumbprint(jwk);
  } catch {
    return undefined;
  }
  const kid = raw.kid as string | undefined;
  const id = `${kid ?? ''}\u0000${String(raw.alg ?? '')}\u0000${thumbprint}`;
  const known = previous.get(id);
  if (known) return known;
  const byAlg = new Map<string, CryptoKey>();
  for (const alg of algs) {
    const key = await importAs(jwk, alg);
    if (key) byAlg.set(alg, key);
  }
  return byAlg.size === 0 ? undefined : { ...(kid !== undefined ? { kid } : {}), id, byAlg };
}

async function importAs(jwk: JWK, alg: string): Promise<CryptoKey | undefined> {
  try {
    const key = await importJWK(jwk, alg);
    if (key instanceof Uint8Array || key.type !== 'public') return undefined;
    // RSA keys under 2048 bits are dropped here: jose refused them at verify time, fast-jwt does not check.
    const bits = (key.algorithm as { modulusLength?: number }).modulusLength;
    return bits !== undefined && bits < 2048 ? undefined : key;
  } catch {
    return undefined;
  }
}
