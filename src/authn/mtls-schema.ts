import { Type } from '@sinclair/typebox';
import { Strict } from '../config/types.js';

// STUB: the mTLS helper replaces this fragment.
export const MtlsProviderSchema = Strict({
  type: Type.Literal('mtls', { description: 'Client certificates verified at the listener.' }),
}, 'mTLS client certificates.');
