import { Type } from '@sinclair/typebox';
import { Duration, Strict } from '../config/types.js';

export const AuditSchema = Strict({
  sink: Type.Union([Type.Literal('stdout'), Type.Literal('file'), Type.Literal('off')], { default: 'stdout', description: 'Where audit lines go.' }),
  path: Type.Optional(Type.String({ minLength: 1, description: 'File for `sink: file` (appended).' })),
  query: Type.Boolean({ default: true, description: 'Record the query string (`query`), with the values of `redactQuery` parameters replaced by `REDACTED`.' }),
  redactQuery: Type.Array(Type.String({ minLength: 1 }), {
    default: [],
    description: 'More query parameter names whose values are never recorded (case-insensitive), besides the defaults: `X-Amz-Signature`, `X-Amz-Credential`, `X-Amz-Security-Token`, `access_token`, `id_token`, `refresh_token`, `code`, `client_secret`, `client_assertion`, `sig`, `signature`, `token`, `password`, `api_key`, `apikey`, `key`, `state`, `nonce`.',
  }),
  integrity: Type.Optional(Strict({
    checkpointEvery: Duration('How often a signed checkpoint is appended (when lines were written since the last); a final one is written at shutdown.', '1m'),
  }, 'Make the audit file tamper-evident (`sink: file`): every line hash-chained to the one before, with checkpoints signed by the gateway\'s assertion key; `gatehouse audit verify` checks a file (docs/audit.md).')),
}, 'One JSON line per request.');

export const LogSchema = Strict({
  level: Type.Union((['fatal', 'error', 'warn', 'info', 'debug'] as const).map((l) => Type.Literal(l)), { default: 'info', description: 'Operational log level (stderr).' }),
}, 'Operational logging (separate from audit).');
