import { createPublicKey, randomUUID } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importPKCS8, type CryptoKey, type JWK } from 'jose';
import type { Identity } from '../identity/identity.js';

/** Signs short-lived identity assertions for upstreams (the Google IAP signed-header pattern). */
export interface AssertionSigner {
  /** Public keys to publish at /.well-known/jwks.json. */
  readonly jwks: { keys: JWK[] };
  /** An ES256 JWT for `identity` with aud = `audience` (the route name); reused while fresh. */
  mint(identity: Identity, audience: string, ttlSec: number): Promise<string>;
}

const ALG = 'ES256';
const MAX_CACHED = 10_000;
/** Reuse a minted assertion until only this share of its lifetime remains. */
const REFRESH_REMAINING = 0.25;

interface Cached {
  readonly token: Promise<string>;
  /** Epoch ms after which a fresh assertion is minted. */
  readonly refreshAt: number;
}

/** Build a signer from a PKCS#8 P-256 PEM, or from a key generated now when none is configured. */
export async function createAssertionSigner(opts: { issuer: string; privateKeyPem?: string }): Promise<AssertionSigner> {
  const { privateKey, publicJwk } = opts.privateKeyPem === undefined ? await generateKey() : await importKey(opts.privateKeyPem);
  const kid = await calculateJwkThumbprint(publicJwk);
  const jwks = Object.freeze({ keys: [Object.freeze({ ...publicJwk, kid, alg: ALG, use: 'sig' })] });
  const cache = new Map<string, Cached>();

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
    mint(identity, audience, ttlSec) {
      const key = cacheKey(identity, audience, ttlSec);
      const nowMs = Date.now();
      const hit = cache.get(key);
      if (hit && nowMs < hit.refreshAt) return hit.token;
      const now = Math.floor(nowMs / 1000);
      const token = sign(identity, audience, ttlSec, now);
      // Re-inserting moves the key to the end, so Map order is oldest-first for eviction.
      cache.delete(key);
      if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
      // Concurrent callers for the same key get this same promise; a failure is not cached.
      cache.set(key, { token, refreshAt: (now + ttlSec * (1 - REFRESH_REMAINING)) * 1000 });
      token.catch(() => {
        if (cache.get(key)?.token === token) cache.delete(key);
      });
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

/** Everything that ends up in the token, so two identities never share an assertion. */
function cacheKey(identity: Identity, audience: string, ttlSec: number): string {
  return JSON.stringify([
    audience, ttlSec, identity.provider, identity.issuer, identity.subject, identity.clientId, identity.tenant,
    identity.authMethod, identity.roles, identity.groups, identity.scopes,
  ]);
}
