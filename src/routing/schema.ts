import { Type } from '@sinclair/typebox';
import { Strict } from '../config/types.js';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

export const MatchSchema = Strict({
  host: Type.Optional(Type.String({ minLength: 1, description: 'Host to match (case-insensitive, port ignored); `*.example.com` matches one or more labels. Absent: any host.' })),
  path: Type.String({
    pattern: '^/',
    description: 'Path pattern: exact `/a/b`, one-segment parameter `/users/:id`, or prefix `/files/*` (matches `/files` and everything below). A single trailing slash is ignored when matching.',
  }),
  methods: Type.Optional(Type.Array(Type.Union(HTTP_METHODS.map((m) => Type.Literal(m))), { minItems: 1, description: 'Methods to match. Absent: any method.' })),
}, 'Which requests this route takes. The most specific matching route wins: exact host over wildcard host over any host, then static segments over `:param` over `*`, then a route listing the method over one that does not.');
