import type { Static } from '@sinclair/typebox';
import type { MtlsProviderSchema } from './mtls-schema.js';
import type { Authenticator } from './authenticator.js';

/** What every provider factory gets besides its own config. */
export interface ProviderContext {
  /** Directory of the config file (relative paths resolve against it). */
  readonly baseDir: string;
}

// STUB: the mtls helper replaces this file.
/** Build the mtls authenticator for provider `name` (at config load). */
export function createMtlsAuthenticator(name: string, _cfg: Static<typeof MtlsProviderSchema>, _ctx: ProviderContext): Authenticator {
  throw new Error(`provider "${name}": mtls is not implemented yet`);
}
