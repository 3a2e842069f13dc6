import { Type } from '@sinclair/typebox';
import { Strict } from '../config/types.js';

// STUB: the introspection helper replaces this fragment.
export const IntrospectionProviderSchema = Strict({
  type: Type.Literal('introspection', { description: 'Opaque tokens checked at an RFC 7662 introspection endpoint.' }),
}, 'Token introspection.');
