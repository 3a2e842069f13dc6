import type { Static } from '@sinclair/typebox';
import type { ApiKeyProviderSchema } from './apikey-schema.js';
import type { Authenticator } from './authenticator.js';

/** What every provider factory gets besides its own config. */
export interface ProviderContext {
  /** Directory of the config file (relative paths resolve against it). */
  readonly baseDir: string;
}

// STUB: the apikey helper replaces this file.
/** Build the apikey authenticator for provider `name` (at config load). */
export function createApiKeyAuthenticator(name: string, _cfg: Static<typeof ApiKeyProviderSchema>, _ctx: ProviderContext): Authenticator {
  throw new Error(`provider "${name}": apikey is not implemented yet`);
}
