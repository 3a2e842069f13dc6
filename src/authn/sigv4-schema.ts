import { Type } from '@sinclair/typebox';
import { Strict } from '../config/types.js';

// STUB: the SigV4 helper replaces this fragment.
export const SigV4ProviderSchema = Strict({
  type: Type.Literal('sigv4', { description: 'AWS Signature Version 4 signed requests.' }),
}, 'AWS SigV4.');
