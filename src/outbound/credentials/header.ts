/** A static secret header for backends that only take a key (`x-api-key: ${file:/secrets/key}`). */
import { Type, type Static } from '@sinclair/typebox';
import { Strict } from '../../config/types.js';
import type { OutboundCredential } from './credential.js';
import { recordCredential } from './credential.js';

export const HeaderCredentialSchema = Strict({
  type: Type.Literal('header', { description: 'A fixed header, usually a backend API key.' }),
  name: Type.String({ pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$', description: 'Header name, e.g. `x-api-key`.' }),
  value: Type.String({ minLength: 1, secret: true, description: 'Header value; a secret reference such as `${file:/secrets/backend-key}` (re-read on change).' }),
}, 'Send a static secret header.');

/** Build the header credential (at load). */
export function createHeaderCredential(cfg: Static<typeof HeaderCredentialSchema>): OutboundCredential {
  const name = cfg.name.toLowerCase();
  const use = Object.freeze({ kind: 'header', header: name });
  return {
    name: 'outbound',
    kind: 'header',
    run(ctx) {
      ctx.outbound!.headers[name] = cfg.value;
      recordCredential(ctx, use);
      return undefined;
    },
  };
}
