/** The API key file: its schema, and parsing it into entries ready for the hot path. */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parseDocument } from 'yaml';
import { Names, Strict } from '../../config/types.js';
import { makeIdentity, type Identity } from '../../identity/identity.js';
import type { AuthnOutcome } from '../authenticator.js';
import { KEY_HASH_PATTERN, KEY_ID_PATTERN, parseApiKeyHash } from './format.js';

/** `2027-01-01` (midnight UTC) or a date-time with a zone (`2027-01-01T12:00:00Z`, `…+02:00`). */
const EXPIRES_PATTERN = '^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2}))?$';

export const KeyEntrySchema = Strict({
  id: Type.String({ pattern: KEY_ID_PATTERN, description: 'Public key id: the `<id>` in `gh_<id>_<secret>`.' }),
  name: Type.String({ minLength: 1, description: 'Who the key stands for; the identity subject (several keys may share it: rotation).' }),
  owner: Type.Optional(Type.String({ minLength: 1, description: 'Who to contact about the key (claim `owner`).' })),
  roles: Names('Roles of the identity.'),
  scopes: Names('Scopes of the identity.'),
  groups: Names('Groups of the identity.'),
  plan: Type.Optional(Type.String({ minLength: 1, description: 'Usage plan name, exposed as claim `plan` for `plans.<name>.assign`.' })),
  expires: Type.Optional(Type.String({ pattern: EXPIRES_PATTERN, description: 'The key stops working at this instant (a date alone means midnight UTC).' })),
  created: Type.Optional(Type.String({ description: 'When the key was created (informational).' })),
  hash: Type.String({ pattern: KEY_HASH_PATTERN, description: '`sha256:` and the hex SHA-256 of the whole key. Never the key itself.' }),
}, 'One API key.');

export const KeyFileSchema = Strict({
  keys: Type.Array(KeyEntrySchema, { description: 'Every valid key.' }),
}, 'An API key file.');

export type KeyEntryConfig = Static<typeof KeyEntrySchema>;

/** One key, compiled: what a request needs, built once per file load. */
export interface KeyEntry {
  readonly id: string;
  /** The stored 32-byte SHA-256 digest. */
  readonly digest: Buffer;
  /** Epoch milliseconds; undefined = never expires. */
  readonly expiresAt: number | undefined;
  readonly identity: Identity;
  /** The outcome a request with this key gets, built once. */
  readonly accepted: AuthnOutcome;
}

/** A key file problem; its message names a place in the file, never a value from it. */
export class KeyFileError extends Error {
  override readonly name = 'KeyFileError';
}

const EXPIRES = new RegExp(EXPIRES_PATTERN);

/** Epoch milliseconds of an `expires` value, or undefined when it is not a real date. */
export function parseExpires(text: string): number | undefined {
  if (!EXPIRES.test(text)) return undefined;
  const ms = Date.parse(text);
  // Date.parse rolls 2027-02-31 over to March: the calendar date must read back as written.
  const day = text.slice(0, 10);
  return !Number.isNaN(ms) && new Date(Date.parse(day)).toISOString().slice(0, 10) === day ? ms : undefined;
}

function parseText(text: string): unknown {
  // Every value in a key file is text: an id such as 1234e56789012345 must not become a number.
  const doc = parseDocument(text, { schema: 'failsafe' });
  const [error] = doc.errors;
  // Report the position and code only: the parser's message quotes the file.
  if (error) {
    const at = error.linePos?.[0];
    throw new KeyFileError(`not valid YAML or JSON${at ? ` at line ${at.line}, column ${at.col}` : ''} (${error.code})`);
  }
  return doc.toJS();
}

/** A path into the file; an unknown field named like a key (pasted by mistake) is not repeated. */
function safePath(path: string): string {
  return path.split('/').map((s) => (s.length > 32 || s.startsWith('gh_') ? '<unknown field>' : s)).join('/') || '/';
}

function validate(value: unknown): Static<typeof KeyFileSchema> {
  if (Value.Check(KeyFileSchema, value)) return value;
  const first = Value.Errors(KeyFileSchema, value).First();
  throw new KeyFileError(first ? `${safePath(first.path)}: ${first.message}` : 'expected a mapping with a `keys:` list');
}

function compileEntry(provider: string, e: KeyEntryConfig, index: number): KeyEntry {
  let expiresAt: number | undefined;
  if (e.expires !== undefined) {
    expiresAt = parseExpires(e.expires);
    if (expiresAt === undefined) throw new KeyFileError(`/keys/${index}/expires: not a valid date`);
  }
  const claims = Object.freeze({
    key_id: e.id, name: e.name,
    ...(e.owner !== undefined ? { owner: e.owner } : {}),
    ...(e.plan !== undefined ? { plan: e.plan } : {}),
  });
  const identity = makeIdentity({
    provider, subject: e.name, clientId: e.id, roles: [...(e.roles ?? [])], groups: [...(e.groups ?? [])], scopes: [...(e.scopes ?? [])],
    authMethod: 'apikey', claims, expiresAt: expiresAt === undefined ? undefined : Math.floor(expiresAt / 1000),
  });
  return { id: e.id, digest: parseApiKeyHash(e.hash), expiresAt, identity, accepted: Object.freeze({ ok: true as const, identity }) };
}

/** Parse and validate a key file's text into entries by id; throws KeyFileError (never quoting content). */
export function parseKeyFile(text: string, provider: string): ReadonlyMap<string, KeyEntry> {
  const file = validate(parseText(text));
  const byId = new Map<string, KeyEntry>();
  file.keys.forEach((e, i) => {
    if (byId.has(e.id)) throw new KeyFileError(`/keys/${i}/id: duplicate key id (an earlier entry has it)`);
    byId.set(e.id, compileEntry(provider, e, i));
  });
  return byId;
}
