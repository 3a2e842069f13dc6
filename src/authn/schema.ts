import { Type } from '@sinclair/typebox';
import { Strict } from '../config/types.js';

export const TokenSourceSchema = Strict({
  header: Type.Boolean({ default: true, description: 'Accept `Authorization: Bearer <token>`.' }),
  query: Type.Optional(Type.String({ minLength: 1, description: 'Also accept the token from this query parameter (discouraged: URLs end up in logs).' })),
  cookie: Type.Optional(Type.String({ minLength: 1, description: 'Also accept the token from this cookie.' })),
}, 'Where a route accepts bearer tokens. By default only the `Authorization` header.');

export const DevSchema = Type.Union([
  Type.Boolean(),
  Strict({
    issuer: Type.String({ default: 'https://gatehouse.dev.invalid', description: 'Issuer of development tokens.' }),
    audience: Type.String({ default: 'gatehouse', description: 'Audience of development tokens.' }),
    keyFile: Type.String({ default: '.gatehouse/dev-issuer.json', description: 'Where the development signing key is kept (created on first use, mode 0600).' }),
  }, 'Development issuer settings.'),
], { description: 'Enables the built-in development issuer as provider `dev` (never in production; a warning is printed at start).' });
