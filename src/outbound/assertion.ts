import { createPublicKey, randomUUID } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importPKCS8, type CryptoKey, type JWK } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Identity } from '../identity/identity.js';

/** Signs short-lived identity assertions for upstreams (the Google IAP signed-header pattern). */
export interface AssertionSigner {
  /** Public keys to publish at /.well-known/jwks.json. */
  readonly jwks: { keys: JWK[] };
  /** The assertion for `identity` and `audience` signed earlier and still fresh; undefined otherwise. */
  cached(identity: Identity, audience: string, ttlSec: number): string | undefined;
  /** An ES256 JWT for `identity` with aud = `audience` (the route name); concurrent callers share one signing. */
  mint(identity: Identity, audience: string, ttlSec: number): Promise<string>;
}

const ALG = 'ES256';
const MAX_CACHED = 10_000;
/** Reuse a minted assertion until only this share of its lifetime remains. */
const REFRESH_REMAINING = 0.25;

interface Cached {
  readonly token: Promise<string>;
  /** The signed token once `token` settled. */
  value?: string;
  /** Epoch ms after which a fresh assertion is minted. */
  readonly refreshAt: number;
}

/** Build a signer from a PKCS#8 P-256 PEM, or from a key generated now when none is configured. */
export async function createAssertionSigner(opts: { issuer: string; privateKeyPem?: string }): Promise<AssertionSigner> {
  const { privateKey, publicJwk } = opts.privateKeyPem === undefined ? await generateKey() : await importKey(opts.privateKeyPem);
  const kid = await calculateJwkThumbprint(publicJwk);
  const jwks = Object.freeze({ keys: [Object.freeze({ ...publicJwk, kid, alg: ALG, use: 'sig' })] });
  // Keyed by what ends up in the token: the identity's key (computed where it was made), route and TTL.
  const cache = new LRUCache<string, Cached>({ max: MAX_CACHED });
  const keyOf = (identity: Identity, audience: string, ttlSec: number): string => `${audience}\0${ttlSec}\0${identity.key}`;

  const sign = (identity: Identity, audience: string, ttlSec: number, now: number): Promise<string> =>
    new SignJWT(assertionClaims(identity))
      .setProtectedHeader({ alg: ALG, kid, typ: 'JWT' })
      .setIssuer(opts.issuer)
      .setAudience(audience)
      .setSubject(identity.subject)
      .setIssuedAt(now)
      .setExpirationTime(now + ttlSec)
      .setJti(randomUUID())
      .sign(privateKey);

  return {
    jwks,
    cached(identity, audience, ttlSec) {
      const entry = cache.get(keyOf(identity, audience, ttlSec));
      return entry !== undefined && Date.now() < entry.refreshAt ? entry.value : undefined;
    },
    mint(identity, audience, ttlSec) {
      const key = keyOf(identity, audience, ttlSec);
      const nowMs = Date.now();
      const entry = cache.get(key);
      if (entry !== undefined && nowMs < entry.refreshAt) return entry.token;
      const now = Math.floor(nowMs / 1000);
      const token = sign(identity, audience, ttlSec, now);
      const fresh: Cached = { token, refreshAt: (now + ttlSec * (1 - REFRESH_REMAINING)) * 1000 };
      cache.set(key, fresh);
      // A failure is not cached: the next request signs again.
      token.then((value) => { fresh.value = value; }, () => { if (cache.get(key) === fresh) cache.delete(key); });
      return token;
    },
  };
}

async function generateKey(): Promise<{ privateKey: CryptoKey; publicJwk: JWK }> {
  // The private key stays non-extractable; only the public half is ever exported.
  const { privateKey, publicKey } = await generateKeyPair(ALG);
  return { privateKey, publicJwk: publicPart(await exportJWK(publicKey)) };
}

async function importKey(pem: string): Promise<{ privateKey: CryptoKey; publicJwk: JWK }> {
  let publicJwk: JWK;
  try {
    publicJwk = publicPart(createPublicKey(pem).export({ format: 'jwk' }) as JWK);
  } catch (err) {
    // Never echo the PEM: the message names only what was expected.
    throw new Error('assertion.privateKey is not a PEM private key', { cause: err });
  }
  if (publicJwk.kty !== 'EC' || publicJwk.crv !== 'P-256') throw new Error('assertion.privateKey must be a P-256 (ES256) key');
  try {
    return { privateKey: await importPKCS8(pem, ALG), publicJwk };
  } catch (err) {
    throw new Error('assertion.privateKey must be PKCS#8 ("BEGIN PRIVATE KEY")', { cause: err });
  }
}

function publicPart(jwk: JWK): JWK {
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
}

function assertionClaims(identity: Identity): Record<string, unknown> {
  return {
    provider: identity.provider,
    idp_iss: identity.issuer,
    client_id: identity.clientId,
    tenant: identity.tenant,
    roles: identity.roles,
    groups: identity.groups,
    scopes: identity.scopes,
    // RFC 8176: amr is an array of method names.
    amr: [identity.authMethod],
  };
}
