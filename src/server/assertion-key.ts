/**
 * Which key signs identity assertions after a reload, for a single process and a cluster primary.
 * A configured `assertion.privateKey` that changes is rotated to (the old public key stays in the
 * JWKS until every assertion it signed has expired); a generated key (none configured) survives
 * reloads; removing a configured key rotates to a generated one.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { parseDuration } from '../config/units.js';
import { loadAssertionKey, type AssertionKey, type AssertionSigner, type RetiredKey } from '../outbound/assertion.js';

/** A route with `assertion: true` signs for this long (the schema's default `ttl`). */
const DEFAULT_TTL = '60s';

/** The longest assertion lifetime any route of `config` asks for (ms): a retired key is published this long. */
export function longestAssertionTtlMs(config: Config): number {
  let longest = 0;
  for (const route of config.routes) {
    const a = route.upstream.assertion;
    if (a === undefined || a === false) continue;
    longest = Math.max(longest, parseDuration(a === true ? DEFAULT_TTL : a.ttl));
  }
  return longest;
}

/** The key a single process signs with after reloading `config`; undefined: keep the signer's. */
export async function reloadedKey(signer: AssertionSigner, config: Config): Promise<AssertionKey | undefined> {
  const pem = config.assertion?.privateKey;
  if (pem === undefined) return signer.generated ? undefined : loadAssertionKey();
  const key = await loadAssertionKey(pem);
  return key.kid === signer.kid ? undefined : key;
}

/** A cluster primary's signing key, as PEM because it hands it to its workers (over IPC only). */
export interface KeyMaterial {
  readonly pem: string;
  /** Made here (no `assertion.privateKey`): it survives reloads. */
  readonly generated: boolean;
}

/** The key material `config` asks for: the configured key, else `current`'s generated one, else a new P-256 key. */
export function keyMaterial(config: Config, current?: KeyMaterial): KeyMaterial {
  const pem = config.assertion?.privateKey;
  if (pem !== undefined) return { pem, generated: false };
  if (current?.generated) return current;
  return { pem: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, generated: true };
}

/** What a cluster worker's signer is set to: the primary's key, issuer and retired keys. */
export interface AssertionState {
  readonly issuer: string;
  /** PKCS#8 PEM. */
  readonly key: string;
  readonly retired: readonly RetiredKey[];
}

/** Set `signer` to `state` (a worker adopting its primary's), exactly: the same keys are published. */
export async function adoptAssertionState(signer: AssertionSigner, state: AssertionState): Promise<{ key: boolean; issuer: boolean }> {
  return signer.rotate({ key: await loadAssertionKey(state.key), issuer: state.issuer, retired: state.retired });
}

/** The reload log fields for what `rotate` changed. */
export function rotationFields(change: { key: boolean; issuer: boolean } | undefined): Record<string, string> {
  return { ...(change?.key ? { assertionKey: 'rotated' } : {}), ...(change?.issuer ? { assertionIssuer: 'changed' } : {}) };
}
