import { Type } from '@sinclair/typebox';
import { Strict } from '../config/types.js';

export const AuditSchema = Strict({
  sink: Type.Union([Type.Literal('stdout'), Type.Literal('file'), Type.Literal('off')], { default: 'stdout', description: 'Where audit lines go.' }),
  path: Type.Optional(Type.String({ minLength: 1, description: 'File for `sink: file` (appended).' })),
}, 'One JSON line per request.');

export const LogSchema = Strict({
  level: Type.Union((['fatal', 'error', 'warn', 'info', 'debug'] as const).map((l) => Type.Literal(l)), { default: 'info', description: 'Operational log level (stderr).' }),
}, 'Operational logging (separate from audit).');
