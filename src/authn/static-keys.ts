/** A fixed single-key resolver, for the development issuer (its key never rotates while running). */
import type { CryptoKey } from 'jose';
import { GatehouseError } from '../errors.js';
import type { JwsKeyHeader, KeyHealth, KeyResolver } from './key-resolver.js';

const HEALTH: KeyHealth = Object.freeze({ ready: true, keyCount: 1 });

/** A resolver that knows exactly one public key, for one algorithm. */
export function staticKeys(kid: string, alg: string, key: CryptoKey): KeyResolver {
  return {
    ready: true,
    start: () => Promise.resolve(),
    getKey(header: JwsKeyHeader): Promise<CryptoKey> {
      if (header.alg !== alg) return Promise.reject(new GatehouseError('algorithm_not_allowed'));
      if (header.kid !== undefined && header.kid !== kid) return Promise.reject(new GatehouseError('unknown_key'));
      return Promise.resolve(key);
    },
    isCurrent: (k) => k === key,
    health: () => HEALTH,
    close: () => undefined,
  };
}
