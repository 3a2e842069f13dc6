import { createPublicKey, randomUUID } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importPKCS8, type CryptoKey, type JWK } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Identity } from '../identity/identity.js';

/** Signs short-lived identity assertions for upstreams (the Google IAP signed-header pattern). */
export interface AssertionSigner {
  /** Public keys to publish at /.well-known/jwks.json: the signing key, then retired keys not yet expired. */
  readonly jwks: { keys: JWK[] };
  /** `kid` of the key that signs now. */
  readonly kid: string;
  /** `iss` of the assertions signed now. */
  readonly issuer: string;
  /** The signing key was generated here (no `assertion.privateKey`). */
  readonly generated: boolean;
  /** Replaced keys still published (each until every assertion it signed has expired). */
  readonly retired: readonly RetiredKey[];
  /** The assertion for `identity`, `audience` (and `issuer`) signed earlier and still fresh; undefined otherwise. */
  cached(identity: Identity, audience: string, ttlSec: number, issuer?: string): string | undefined;
  /**
   * An ES256 JWT for `identity` with aud = `audience` (the route name, or the upstream's `audience`)
   * and iss = `issuer` (absent: the signer's); concurrent callers share one signing.
   */
  mint(identity: Identity, audience: string, ttlSec: number, issuer?: string): Promise<string>;
  /**
   * Sign with `key` (absent or the same `kid`: the current key) and `issuer` from now on. A new key
   * is in the JWKS from this moment, before anything is signed with it; the key it replaces stays
   * published until every assertion it signed has expired, then is dropped: for the longest
   * `retainMs` given while it was the signing key (each reload passes the longest assertion
   * lifetime of the config it replaces), and at least until the last assertion it signed here
   * expires. `retired`, when given, replaces the list of retired keys (a cluster worker takes its
   * primary's, so both publish the same keys). Assertions cached before are not handed out again.
   * Says what changed.
   */
  rotate(next: RotateTo): { key: boolean; issuer: boolean };
  /** A JWT of `claims` with `iss` and `iat`, signed by the current key with `typ` in its header (audit checkpoints). */
  signStatement(claims: Record<string, unknown>, typ: string): Promise<string>;
}

export interface RotateTo {
  readonly key?: AssertionKey | undefined;
  readonly issuer: string;
  readonly retainMs?: number;
  readonly retired?: readonly RetiredKey[];
}

/** A signing key: the private half (never exported) and the public JWK it publishes. */
export interface AssertionKey {
  readonly kid: string;
  /** Public JWK with `kid`, `alg` and `use`. */
  readonly jwk: JWK;
  readonly privateKey: CryptoKey;
  readonly generated: boolean;
}

/** A replaced key's public JWK, published until `until` (epoch ms). */
export interface RetiredKey {
  readonly jwk: JWK;
  readonly until: number;
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

/** A signing key from a PKCS#8 P-256 PEM, or one generated now (non-extractable) when `pem` is undefined. */
export async function loadAssertionKey(pem?: string): Promise<AssertionKey> {
  const { privateKey, publicJwk } = pem === undefined ? await generateKey() : await importKey(pem);
  const kid = await calculateJwkThumbprint(publicJwk);
  return { kid, jwk: Object.freeze({ ...publicJwk, kid, alg: ALG, use: 'sig' }), privateKey, generated: pem === undefined };
}

/** Build a signer from a PKCS#8 P-256 PEM, or from a key generated now when none is configured. */
export async function createAssertionSigner(opts: { issuer: string; privateKeyPem?: string; retired?: readonly RetiredKey[] }): Promise<AssertionSigner> {
  let key = await loadAssertionKey(opts.privateKeyPem);
  let issuer = opts.issuer;
  /** The longest `retainMs` asked for while `key` signs, and when the last assertion it signed expires (epoch ms). */
  let tenureMs = 0;
  let signedUntil = 0;
  let retired: readonly RetiredKey[] = opts.retired ?? [];
  let jwks: { keys: JWK[] } = { keys: [] };
  /** When the next retired key expires: the published set is rebuilt then (no timer). */
  let nextExpiry = Infinity;
  const publish = (): void => {
    const now = Date.now();
    retired = Object.freeze(retired.filter((r) => r.until > now && r.jwk.kid !== key.kid));
    jwks = Object.freeze({ keys: Object.freeze([key.jwk, ...retired.map((r) => r.jwk)]) as JWK[] });
    nextExpiry = Math.min(Infinity, ...retired.map((r) => r.until));
  };
  publish();
  // Keyed by what ends up in the token: the identity's key (computed where it was made), route and TTL.
  const cache = new LRUCache<string, Cached>({ max: MAX_CACHED });
  // An upstream's own issuer is part of the key; the signer's issuer is not (a change clears the cache).
  const keyOf = (identity: Identity, audience: string, ttlSec: number, iss: string | undefined): string => `${iss ?? ''}\0${audience}\0${ttlSec}\0${identity.key}`;

  const sign = (identity: Identity, audience: string, ttlSec: number, now: number, iss: string | undefined): Promise<string> =>
    new SignJWT(assertionClaims(identity))
      .setProtectedHeader({ alg: ALG, kid: key.kid, typ: 'JWT' })
      .setIssuer(iss ?? issuer)
      .setAudience(audience)
      .setSubject(identity.subject)
      .setIssuedAt(now)
      .setExpirationTime(now + ttlSec)
      .setJti(randomUUID())
      .sign(key.privateKey);

  return {
    get jwks() {
      if (Date.now() >= nextExpiry) publish();
      return jwks;
    },
    get kid() { return key.kid; },
    get issuer() { return issuer; },
    get generated() { return key.generated; },
    get retired() {
      if (Date.now() >= nextExpiry) publish();
      return retired;
    },
    rotate(next) {
      const keyChanged = next.key !== undefined && next.key.kid !== key.kid;
      const issuerChanged = next.issuer !== issuer;
      tenureMs = Math.max(tenureMs, next.retainMs ?? 0);
      if (next.retired !== undefined) retired = next.retired;
      else if (keyChanged) retired = [{ jwk: key.jwk, until: Math.max(Date.now() + tenureMs, signedUntil) }, ...retired];
      if (keyChanged) {
        key = next.key!;
        tenureMs = 0;
        signedUntil = 0;
      }
      issuer = next.issuer;
      // Publish first: from here on every assertion signed is verifiable against the JWKS served.
      publish();
      if (keyChanged || issuerChanged) cache.clear();
      return { key: keyChanged, issuer: issuerChanged };
    },
    signStatement(claims, typ) {
      return new SignJWT(claims).setProtectedHeader({ alg: ALG, kid: key.kid, typ }).setIssuer(issuer).setIssuedAt().sign(key.privateKey);
    },
    cached(identity, audience, ttlSec, iss) {
      const entry = cache.get(keyOf(identity, audience, ttlSec, iss));
      return entry !== undefined && Date.now() < entry.refreshAt ? entry.value : undefined;
    },
    mint(identity, audience, ttlSec, iss) {
      const cacheKey = keyOf(identity, audience, ttlSec, iss);
      const nowMs = Date.now();
      const entry = cache.get(cacheKey);
      if (entry !== undefined && nowMs < entry.refreshAt) return entry.token;
      const now = Math.floor(nowMs / 1000);
      const token = sign(identity, audience, ttlSec, now, iss);
      signedUntil = Math.max(signedUntil, (now + ttlSec) * 1000);
      const fresh: Cached = { token, refreshAt: (now + ttlSec * (1 - REFRESH_REMAINING)) * 1000 };
      cache.set(cacheKey, fresh);
      // A failure is not cached: the next request signs again.
      token.then((value) => { fresh.value = value; }, () => { if (cache.get(cacheKey) === fresh) cache.delete(cacheKey); });
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
