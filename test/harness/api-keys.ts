/** API key callers for a test, made at test time: the key each caller sends and the provider's key file of hashed entries. */
import { writeFileSync } from 'node:fs';
import { formatApiKeyHash, generateApiKey } from '../../src/authn/apikey/format.js';

export interface Caller {
  readonly name: string;
  readonly roles: readonly string[];
  readonly owner?: string;
}

/** Write the key file for `callers` at `path`; returns each caller's key by name. */
export function writeApiKeyFile(path: string, callers: readonly Caller[]): Record<string, string> {
  const keys: Record<string, string> = {};
  const entries = callers.map((c) => {
    const { id, key } = generateApiKey();
    keys[c.name] = key;
    return { id, name: c.name, roles: c.roles, ...(c.owner !== undefined ? { owner: c.owner } : {}), hash: formatApiKeyHash(key) };
  });
  writeFileSync(path, `keys:\n${entries.map((e) => `  - ${JSON.stringify(e)}`).join('\n')}\n`);
  return keys;
}
