import type { Static } from '@sinclair/typebox';
import type { IntrospectionProviderSchema } from './introspection-schema.js';
import type { Authenticator } from './authenticator.js';

/** What every provider factory gets besides its own config. */
export interface ProviderContext {
  /** Directory of the config file (relative paths resolve against it). */
  readonly baseDir: string;
}

// STUB: the introspection helper replaces this file.
/** Build the introspection authenticator for provider `name` (at config load). */
export function createIntrospectionAuthenticator(name: string, _cfg: Static<typeof IntrospectionProviderSchema>, _ctx: ProviderContext): Authenticator {
  throw new Error(`provider "${name}": introspection is not implemented yet`);
}
