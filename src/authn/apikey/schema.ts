import { Type } from '@sinclair/typebox';
import { Strict } from '../../config/types.js';

/** A header name or an auth scheme (the common subset of RFC 9110 token characters). */
const TOKEN = '^[A-Za-z0-9._-]+$';

export const ApiKeyProviderSchema = Strict({
  type: Type.Literal('api-key', { description: 'API keys (`gh_<id>_<secret>`) checked against a key file that holds only their SHA-256 hashes.' }),
  keys: Type.String({
    minLength: 1,
    description: 'Key file (YAML or JSON, see docs/providers/api-keys.md); a relative path resolves against the config file\'s directory. Re-read when it changes; a broken file keeps the previous keys. Create entries with `gatehouse apikey create`.',
  }),
  header: Type.String({ pattern: TOKEN, default: 'x-api-key', description: 'Header carrying the key. Any value in it is this provider\'s to judge (a malformed one is refused with 401, never skipped).' }),
  scheme: Type.Optional(Type.String({
    pattern: TOKEN,
    description: 'Also accept `Authorization: <scheme> <key>` (scheme case-insensitive), e.g. `ApiKey`. Avoid `Bearer` on routes that also accept JWTs: both would claim the same header.',
  })),
}, 'API keys stored as hashes in a key file.');
