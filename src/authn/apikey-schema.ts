import { Type } from '@sinclair/typebox';
import { Strict } from '../config/types.js';

// STUB: the API key helper replaces this fragment.
export const ApiKeyProviderSchema = Strict({
  type: Type.Literal('api-key', { description: 'API keys stored as hashes.' }),
}, 'API keys.');
