import type { Static } from '@sinclair/typebox';
import type { SigV4ProviderSchema } from './sigv4-schema.js';
import type { Authenticator } from './authenticator.js';

/** What every provider factory gets besides its own config. */
export interface ProviderContext {
  /** Directory of the config file (relative paths resolve against it). */
  readonly baseDir: string;
}

// STUB: the sigv4 helper replaces this file.
/** Build the sigv4 authenticator for provider `name` (at config load). */
export function createSigV4Authenticator(name: string, _cfg: Static<typeof SigV4ProviderSchema>, _ctx: ProviderContext): Authenticator {
  throw new Error(`provider "${name}": sigv4 is not implemented yet`);
}
