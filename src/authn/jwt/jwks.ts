/**
 * A provider's remote key set. Keys are imported once at fetch time, each with its synchronous
 * verifier, and kept while the IdP is down (jose's createRemoteJWKSet would expire them); refreshed
 * in the background and on unknown kids.
 */
import { Agent } from 'undici';
import type { CryptoKey } from 'jose';
import { GatehouseError } from '../../errors.js';
import { fetchJson, FetchJsonError, type FetchJsonOptions } from '../fetch-json.js';
import { importKeySet, KeySetError, type ImportedKey } from './jwk-import.js';
import { REFETCH, type JwsKeyHeader, type KeyHealth, type KeyMiss, type VerifierFactory, type VerifierResolver, type VerifyingKey } from './key-resolver.js';

/** Everything a key store needs, already parsed (milliseconds, not duration strings). */
export interface KeyStoreOptions {
  /** Fetch keys here; otherwise `jwks_uri` from discovery. */
  readonly jwksUri?: string;
  readonly issuer: string;
  /** Use `{issuer}/.well-known/openid-configuration` when no jwksUri is given. */
  readonly discover: boolean;
  readonly fetchTimeoutMs: number;
  readonly refreshIntervalMs: number;
  readonly unknownKeyCooldownMs: number;
  /** PEM bundle trusted for discovery and JWKS requests. */
  readonly ca?: string;
  readonly algorithms: readonly string[];
}

/** Retry delays while fetches fail: 1s doubling to 60s, never beyond the refresh interval. */
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 60_000;

type Miss = 'missing' | 'ambiguous' | 'alg_mismatch';

/** The `.well-known` URL for an issuer, with any trailing slashes of the issuer removed first. */
export function discoveryUrl(issuer: string): string {
  let end = issuer.length;
  while (end > 0 && issuer[end - 1] === '/') end--;
  return `${issuer.slice(0, end)}/.well-known/openid-configuration`;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Only messages we wrote ourselves are kept; anything else is reduced to its class name. */
function safeMessage(stage: string, err: unknown): string {
  if (err instanceof FetchJsonError || err instanceof KeySetError) return `${stage}: ${err.message}`;
  return `${stage}: ${err instanceof Error ? err.name : 'failed'}`;
}

/** Verifiers for every key of `entries`, reusing those of keys that were already held. */
function buildVerifiers(
  entries: Iterable<ImportedKey>, make: VerifierFactory | undefined, previous: ReadonlyMap<CryptoKey, VerifyingKey>,
): Map<CryptoKey, VerifyingKey> {
  const out = new Map<CryptoKey, VerifyingKey>();
  if (make === undefined) return out;
  for (const entry of entries) {
    for (const [alg, key] of entry.byAlg) {
      let verifying = previous.get(key);
      if (verifying === undefined) {
        try {
          verifying = { key, verify: make(key, alg) };
        } catch {
          continue; // a key the verifier cannot use is as good as absent (lookup answers unknown_key)
        }
      }
      out.set(key, verifying);
    }
  }
  return out;
}

/** Remote JWKS for one provider. */
export class KeyStore implements VerifierResolver {
  /** Successful fetches so far (for tests and metrics). */
  fetchCount = 0;
  lastFetch: number | undefined;
  lastAttempt: number | undefined;
  lastError: string | undefined;
  readonly #opts: KeyStoreOptions;
  readonly #fetch: FetchJsonOptions;
  readonly #agent: Agent | undefined;
  readonly #allowed: ReadonlySet<string>;
  #byId = new Map<string, ImportedKey>();
  #byKid = new Map<string, ImportedKey[]>();
  #byAlg = new Map<string, CryptoKey[]>();
  #current = new Set<CryptoKey>();
  #verifiers = new Map<CryptoKey, VerifyingKey>();
  #factory: VerifierFactory | undefined;
  #discovered: string | undefined;
  #inflight: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #retryMs = FIRST_RETRY_MS;
  #started = false;
  #closed = false;

  constructor(opts: KeyStoreOptions) {
    if (!opts.jwksUri && !opts.discover) throw new Error('a key store needs jwksUri or discovery');
    if (!(opts.fetchTimeoutMs > 0)) throw new Error('fetchTimeout must be positive');
    // A zero interval would refetch in a tight loop.
    if (!(opts.refreshIntervalMs >= 1000)) throw new Error('refreshInterval must be at least 1s');
    this.#opts = opts;
    this.#agent = opts.ca ? new Agent({ connect: { ca: opts.ca } }) : undefined;
    this.#fetch = { timeoutMs: opts.fetchTimeoutMs, ...(this.#agent ? { dispatcher: this.#agent } : {}) };
    this.#allowed = new Set(opts.algorithms);
  }

  get ready(): boolean {
    return this.lastFetch !== undefined;
  }

  /** First fetch. Rejects with provider_unavailable if it fails; retries continue in the background. */
  async start(): Promise<void> {
    if (!this.#started) {
      this.#started = true;
      await this.refresh();
      this.#schedule();
    } else if (!this.ready) {
      await this.refresh();
    }
    if (!this.ready) throw new GatehouseError('provider_unavailable', `keys could not be fetched (${this.lastError ?? 'unknown'})`);
  }

  /** Fetch now; concurrent callers share one request. Never rejects: failures land in lastError. */
  refresh(): Promise<void> {
    this.#inflight ??= this.#fetchAndSwap().finally(() => { this.#inflight = undefined; });
    return this.#inflight;
  }

  /** The key for this header, refetching an unknown kid as verification would (tests and tools). */
  async getKey(header: JwsKeyHeader): Promise<CryptoKey> {
    if (!this.#allowed.has(header.alg)) throw new GatehouseError('algorithm_not_allowed');
    if (!this.ready) throw new GatehouseError('provider_unavailable');
    let found = this.#lookup(header);
    if (found === 'missing' && this.#mayRefetch()) {
      await this.refresh();
      found = this.#lookup(header);
    }
    if (typeof found === 'string') throw new GatehouseError(found === 'alg_mismatch' ? 'algorithm_not_allowed' : 'unknown_key');
    return found;
  }

  useVerifiers(factory: VerifierFactory): void {
    if (this.#factory !== undefined) throw new Error('a key store serves one provider');
    this.#factory = factory;
    this.#verifiers = buildVerifiers(this.#byId.values(), factory, this.#verifiers);
  }

  lookup(header: JwsKeyHeader): VerifyingKey | KeyMiss | typeof REFETCH {
    if (!this.#allowed.has(header.alg)) return 'algorithm_not_allowed';
    if (!this.ready) return 'provider_unavailable';
    const found = this.#lookup(header);
    if (found === 'missing' && this.#mayRefetch()) return REFETCH;
    if (typeof found === 'string') return found === 'alg_mismatch' ? 'algorithm_not_allowed' : 'unknown_key';
    // A key the verifier factory could not use is as good as absent.
    return this.#verifiers.get(found) ?? 'unknown_key';
  }

  isCurrent(key: CryptoKey): boolean {
    return this.#current.has(key);
  }

  health(): KeyHealth {
    return { ready: this.ready, lastFetch: this.lastFetch, lastAttempt: this.lastAttempt, lastError: this.lastError, keyCount: this.#byId.size, keyIds: [...this.#byKid.keys()] };
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#agent?.close().catch(() => undefined);
  }

  #lookup(header: JwsKeyHeader): CryptoKey | Miss {
    if (header.kid === undefined) {
      const keys = this.#byAlg.get(header.alg);
      if (!keys) return 'missing';
      return keys.length === 1 ? keys[0]! : 'ambiguous';
    }
    const entries = this.#byKid.get(header.kid);
    if (!entries) return 'missing';
    for (const entry of entries) {
      const key = entry.byAlg.get(header.alg);
      if (key) return key;
    }
    return 'alg_mismatch';
  }

  /** Unknown kids are attacker-controlled, so they may cause at most one fetch per cooldown. */
  #mayRefetch(): boolean {
    if (this.#inflight) return true;
    return this.lastAttempt === undefined || Date.now() - this.lastAttempt >= this.#opts.unknownKeyCooldownMs;
  }

  #schedule(): void {
    if (this.#closed) return;
    const failing = this.lastError !== undefined;
    const delay = failing ? Math.min(this.#retryMs, this.#opts.refreshIntervalMs) : this.#opts.refreshIntervalMs;
    this.#retryMs = failing ? Math.min(this.#retryMs * 2, MAX_RETRY_MS) : FIRST_RETRY_MS;
    this.#timer = setTimeout(() => { void this.refresh().then(() => this.#schedule()); }, delay);
    this.#timer.unref();
  }

  async #fetchAndSwap(): Promise<void> {
    this.lastAttempt = Date.now();
    let stage = 'discovery';
    try {
      const uri = await this.#jwksUri();
      stage = 'jwks';
      const keys = await importKeySet(await fetchJson(uri, this.#fetch), this.#opts.algorithms, this.#byId);
      if (keys.length === 0) throw new KeySetError('no usable signature key for the allowed algorithms');
      if (this.#closed) return;
      this.#install(keys);
      this.fetchCount++;
      this.lastFetch = Date.now();
      this.lastError = undefined;
    } catch (err) {
      this.lastError = safeMessage(stage, err);
      // The jwks_uri may have moved; look it up again next time.
      this.#discovered = undefined;
    }
  }

  async #jwksUri(): Promise<string> {
    if (this.#opts.jwksUri) return this.#opts.jwksUri;
    if (this.#discovered) return this.#discovered;
    const doc = await fetchJson(discoveryUrl(this.#opts.issuer), this.#fetch);
    if (!isRecord(doc) || doc.issuer !== this.#opts.issuer) {
      throw new FetchJsonError('discovery document issuer does not match the configured issuer');
    }
    const uri = doc.jwks_uri;
    if (typeof uri !== 'string' || !/^https?:\/\//i.test(uri)) throw new FetchJsonError('discovery document has no http(s) jwks_uri');
    this.#discovered = uri;
    return uri;
  }

  /** Swap all indexes at once; keys absent from the new set are dropped (isCurrent turns false). */
  #install(keys: readonly ImportedKey[]): void {
    const byId = new Map<string, ImportedKey>();
    const byKid = new Map<string, ImportedKey[]>();
    const byAlg = new Map<string, CryptoKey[]>();
    const current = new Set<CryptoKey>();
    for (const entry of keys) {
      if (byId.has(entry.id)) continue;
      byId.set(entry.id, entry);
      if (entry.kid !== undefined) byKid.set(entry.kid, [...(byKid.get(entry.kid) ?? []), entry]);
      for (const [alg, key] of entry.byAlg) {
        byAlg.set(alg, [...(byAlg.get(alg) ?? []), key]);
        current.add(key);
      }
    }
    this.#byId = byId;
    this.#byKid = byKid;
    this.#byAlg = byAlg;
    this.#current = current;
    this.#verifiers = buildVerifiers(byId.values(), this.#factory, this.#verifiers);
  }
}
