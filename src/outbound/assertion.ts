import { createPublicKey, randomUUID } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importPKCS8, type CryptoKey, type JWK } from 'jose';
import type { Identity } from '../identity/identity.js';

/** Signs short-lived identity assertions for upstreams (the Google IAP signed-header pattern). */
export interface AssertionSigner {
  /** Public keys to publish at /.well-known/jwks.json. */
  readonly jwks: { keys: JWK[] };
  /**
   * An ES256 JWT for `identity` with aud = `audience` (the route name); reused while fresh. A
   * reused one is returned as a string (no promise); a promise only while one is being signed.
   */
  mint(identity: Identity, audience: string, ttlSec: number): string | Promise<string>;
}

const ALG = 'ES256';
const MAX_CACHED = 10_000;
/** Reuse a minted assertion until only this share of its lifetime remains. */
const REFRESH_REMAINING = 0.25;

interface Cached {
  readonly token: Promise<string>;
  /** The signed token once `token` settled. */
  value?: string;
  /** Signing failed: never served again. */
  failed?: boolean;
  /** Epoch ms after which a fresh assertion is minted. */
  readonly refreshAt: number;
}

/** Build a signer from a PKCS#8 P-256 PEM, or from a key generated now when none is configured. */
export async function createAssertionSigner(opts: { issuer: string; privateKeyPem?: string }): Promise<AssertionSigner> {
  const { privateKey, publicJwk } = opts.privateKeyPem === undefined ? await generateKey() : await importKey(opts.privateKeyPem);
  const kid = await calculateJwkThumbprint(publicJwk);
  const jwks = Object.freeze({ keys: [Object.freeze({ ...publicJwk, kid, alg: ALG, use: 'sig' })] });
  const cache = new Map<string, Cached>();
  // Identities served from the token cache are the same frozen object on every request: they find
  // their assertions here by route and TTL, without serializing the identity into a cache key.
  const byIdentity = new WeakMap<Identity, Map<string, Cached>>();

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
      const nowMs = Date.now();
      const route = `${audience}\0${ttlSec}`;
      const own = byIdentity.get(identity)?.get(route);
      if (own !== undefined && nowMs < own.refreshAt && !own.failed) return own.value ?? own.token;
      const key = cacheKey(identity, audience, ttlSec);
      let entry = cache.get(key);
      if (entry === undefined || nowMs >= entry.refreshAt) {
        const now = Math.floor(nowMs / 1000);
        const token = sign(identity, audience, ttlSec, now);
        const fresh: Cached = { token, refreshAt: (now + ttlSec * (1 - REFRESH_REMAINING)) * 1000 };
        // Re-inserting moves the key to the end, so Map order is oldest-first for eviction.
        cache.delete(key);
        if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
        // Concurrent callers for the same key get this same promise; a failure is not cached.
        cache.set(key, fresh);
        token.then((value) => { fresh.value = value; }, () => {
          fresh.failed = true;
          if (cache.get(key) === fresh) cache.delete(key);
        });
        entry = fresh;
      }
      if (Object.isFrozen(identity)) {
        let routes = byIdentity.get(identity);
        if (routes === undefined) byIdentity.set(identity, (routes = new Map()));
        routes.set(route, entry);
      }
      return entry.value ?? entry.token;
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
