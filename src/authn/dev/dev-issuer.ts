/**
 * The development issuer: an ES256 key kept as a private JWK in a 0600 file, so `gatehouse
 * dev-token` and a running gateway sign and verify with the same key. Never for production.
 */
import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { DEFAULT_CLAIMS } from '../../identity/claims.js';
import { createJwtProvider, type JwtProvider } from '../jwt/provider.js';
import type { JwsKeyHeader, KeyHealth, KeyMiss, VerifierResolver, VerifyingKey } from '../jwt/key-resolver.js';

/** The `dev` config object (every field optional; `dev: true` means all defaults). */
export interface DevIssuerConfig {
  readonly issuer?: string;
  readonly audience?: string;
  readonly keyFile?: string;
}

/** What a development token may carry. */
export interface DevTokenClaims {
  sub: string;
  roles?: string[];
  scope?: string;
  groups?: string[];
  /** Lifetime in seconds; default one hour. */
  ttlSec?: number;
  /** Overrides the configured audience (the `dev` provider then refuses it: useful to test refusals). */
  aud?: string;
  /** Further claims; the registered ones above win over these. */
  extra?: Record<string, unknown>;
}

/** A loaded development issuer. */
export interface DevIssuer {
  readonly issuer: string;
  readonly audience: string;
  /** Absolute path of the key file. */
  readonly keyFile: string;
  /** Verifies this issuer's tokens; named `dev`. */
  readonly provider: JwtProvider;
  sign(claims: DevTokenClaims): Promise<string>;
}

const DEFAULT_ISSUER = 'https://gatehouse.dev.invalid';
const DEFAULT_AUDIENCE = 'gatehouse';
const DEFAULT_KEY_FILE = '.gatehouse/dev-issuer.json';
const ALG = 'ES256';

interface StoredKey extends JWK { kty: 'EC'; crv: 'P-256'; x: string; y: string; d: string; kid: string }

function parseStoredKey(text: string, file: string): StoredKey {
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch {
    jwk = undefined;
  }
  const k = jwk as Partial<StoredKey> | undefined;
  const ok = typeof k === 'object' && k !== null && k.kty === 'EC' && k.crv === 'P-256'
    && [k.x, k.y, k.d, k.kid].every((v) => typeof v === 'string' && v !== '');
  if (!ok) throw new Error(`development issuer key file ${file} does not hold an ES256 private JWK (delete it to create a new key)`);
  return k as StoredKey;
}

async function generateStoredKey(): Promise<StoredKey> {
  const { privateKey } = await generateKeyPair(ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y });
  return { ...jwk, kid, alg: ALG, use: 'sig' } as StoredKey;
}

/** The resolver of the issuer's one public key (it never rotates while the gateway runs). */
function singleKey(kid: string, alg: string, key: CryptoKey): VerifierResolver {
  let verifying: VerifyingKey | undefined;
  const health: KeyHealth = Object.freeze({ ready: true, keyCount: 1, keyIds: Object.freeze([kid]) });
  return {
    ready: true,
    start: () => Promise.resolve(),
    useVerifiers(factory) {
      if (verifying !== undefined) throw new Error('a key resolver serves one provider');
      verifying = { key, verify: factory(key, alg) };
    },
    lookup(header: JwsKeyHeader): VerifyingKey | KeyMiss {
      if (header.alg !== alg) return 'algorithm_not_allowed';
      if (header.kid !== undefined && header.kid !== kid) return 'unknown_key';
      return verifying ?? 'unknown_key';
    },
    refresh: () => Promise.resolve(),
    isCurrent: (k) => k === key,
    health: () => health,
    close: () => undefined,
  };
}

const errCode = (err: unknown): unknown => (err as { code?: unknown } | null)?.code;

/**
 * Read the key file, or create it. Creation writes a temporary file and hard-links it into place,
 * so a CLI and a gateway starting together end up with one key and never read a half-written file.
 */
async function loadOrCreateKey(file: string): Promise<StoredKey> {
  try {
    return parseStoredKey(await readFile(file, 'utf8'), file);
  } catch (err) {
    if (errCode(err) !== 'ENOENT') throw err;
  }
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const key = await generateStoredKey();
  const text = `${JSON.stringify(key, null, 2)}\n`;
  const tmp = `${file}.${randomUUID()}.tmp`;
  await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
  try {
    await link(tmp, file);
    return key;
  } catch (err) {
    if (errCode(err) === 'EEXIST') return parseStoredKey(await readFile(file, 'utf8'), file);
    // Filesystems without hard links: exclusive create is the next best thing.
    await writeFile(file, text, { mode: 0o600, flag: 'wx' });
    return key;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** Load (or create) the development issuer's key and build its `dev` provider. */
export async function loadDevIssuer(cfg: true | DevIssuerConfig, baseDir: string): Promise<DevIssuer> {
  const settings: DevIssuerConfig = cfg === true ? {} : cfg;
  const issuer = settings.issuer ?? DEFAULT_ISSUER;
  const audience = settings.audience ?? DEFAULT_AUDIENCE;
  const keyFile = resolve(baseDir, settings.keyFile ?? DEFAULT_KEY_FILE);
  const stored = await loadOrCreateKey(keyFile);
  const { d: _d, ...publicJwk } = stored;
  const privateKey = (await importJWK(stored, ALG)) as CryptoKey;
  const publicKey = (await importJWK(publicJwk, ALG)) as CryptoKey;
  const provider = createJwtProvider({
    name: 'dev', issuer, audience: [audience], algorithms: [ALG], clockSkewSec: 60,
    claims: DEFAULT_CLAIMS, keys: singleKey(stored.kid, ALG, publicKey),
  });

  async function sign(c: DevTokenClaims): Promise<string> {
    const ttl = c.ttlSec ?? 3600;
    if (!(ttl > 0) || !Number.isFinite(ttl)) throw new Error('ttlSec must be a positive number of seconds');
    const now = Math.floor(Date.now() / 1000);
    const payload: Record<string, unknown> = {
      ...c.extra,
      ...(c.roles !== undefined ? { roles: c.roles } : {}),
      ...(c.groups !== undefined ? { groups: c.groups } : {}),
      ...(c.scope !== undefined ? { scope: c.scope } : {}),
    };
    return new SignJWT(payload)
      .setProtectedHeader({ alg: ALG, kid: stored.kid, typ: 'JWT' })
      .setIssuer(issuer).setSubject(c.sub).setAudience(c.aud ?? audience)
      .setIssuedAt(now).setExpirationTime(now + Math.max(1, Math.round(ttl))).setJti(randomUUID())
      .sign(privateKey);
  }

  return { issuer, audience, keyFile, provider, sign };
}
