/** The SigV4 key file: access key id → secret and who the key belongs to. Loaded at start, re-read when it changes. */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { keyFile, type KeyFile } from '../key-file.js';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse } from 'yaml';
import { makeIdentity, type Identity } from '../../identity/identity.js';
import { Names, Strict } from '../../config/types.js';
import { deriveSigningKey } from './canonical.js';

/** One access key. */
export const AccessKeySchema = Strict({
  secret: Type.String({ minLength: 1, description: 'The secret access key.' }),
  principal: Type.Optional(Type.String({ minLength: 1, description: 'Who the key belongs to, e.g. an IAM role ARN; the identity subject (default: the access key id).' })),
  roles: Names('Roles of the caller.'),
  groups: Names('Groups of the caller.'),
  scopes: Names('Scopes of the caller.'),
  sessionToken: Type.Optional(Type.String({ minLength: 1, description: 'Makes this a temporary credential: requests must carry this X-Amz-Security-Token.' })),
  expiresAt: Type.Optional(Type.String({ minLength: 1, description: 'ISO 8601 time after which the key is refused (temporary credentials).' })),
}, 'An access key.');

export const KeyFileSchema = Type.Record(Type.String({ pattern: '^[A-Za-z0-9]{1,128}$' }), AccessKeySchema, { additionalProperties: false });

/** A loaded key, ready for the hot path. */
export interface AccessKey {
  readonly secret: string;
  /** SHA-256 of the session token, compared in constant time. */
  readonly sessionTokenHash?: Buffer;
  readonly expiresAtMs?: number;
  readonly identity: Identity;
}

const MAX_SIGNING_KEYS = 10_000;

/** One load of the key file, with its own signing-key cache (a changed secret can never hit an old entry). */
class Snapshot {
  private readonly signingKeys = new LRUCache<string, Buffer>({ max: MAX_SIGNING_KEYS });
  constructor(readonly keys: ReadonlyMap<string, AccessKey>) {}

  /** One HMAC chain per key and day; region and service are fixed per provider. */
  signingKey(accessKeyId: string, key: AccessKey, date: string, region: string, service: string): Buffer {
    const id = `${accessKeyId}/${date}/${region}/${service}`;
    let derived = this.signingKeys.get(id);
    if (!derived) this.signingKeys.set(id, (derived = deriveSigningKey(key.secret, date, region, service)));
    return derived;
  }
}

/** The parse of one key file content; throws naming the place of the problem, never a value. */
function parseKeys(provider: string, text: string): Snapshot {
  const fail = (why: string): never => { throw new Error(why); };
  let data: unknown;
  try {
    // Every value in a key file is text: a secret or id that looks like a number stays what it says.
    data = parse(text, { schema: 'failsafe' });
  } catch (err) {
    // The parser's own message quotes the offending line, which may hold a secret.
    const line = (err as { linePos?: [{ line: number }] }).linePos?.[0]?.line;
    return fail(`not valid YAML or JSON${line ? ` (line ${line})` : ''}`);
  }
  if (!Value.Check(KeyFileSchema, data)) {
    const first = Value.Errors(KeyFileSchema, data).First();
    return fail(`${first?.path || '/'}: ${first?.message ?? 'invalid'} (expected access key id → { secret, principal?, roles?, groups?, scopes?, sessionToken?, expiresAt? })`);
  }
  const keys = new Map<string, AccessKey>();
  for (const [id, entry] of Object.entries(data)) keys.set(id, compileKey(provider, id, entry, fail));
  return new Snapshot(keys);
}

function compileKey(provider: string, id: string, entry: Static<typeof AccessKeySchema>, fail: (why: string) => never): AccessKey {
  const expiresAtMs = entry.expiresAt === undefined ? undefined : Date.parse(entry.expiresAt);
  if (expiresAtMs !== undefined && !Number.isFinite(expiresAtMs)) fail(`/${id}/expiresAt: not an ISO 8601 time`);
  const identity = makeIdentity({
    provider,
    subject: entry.principal ?? id,
    clientId: id,
    roles: entry.roles ?? [],
    groups: entry.groups ?? [],
    scopes: entry.scopes ?? [],
    authMethod: 'sigv4',
    claims: { ...(entry.principal ? { arn: entry.principal } : {}), access_key_id: id, session: entry.sessionToken !== undefined },
    expiresAt: expiresAtMs === undefined ? undefined : Math.floor(expiresAtMs / 1000),
  });
  return {
    secret: entry.secret,
    ...(entry.sessionToken !== undefined ? { sessionTokenHash: createHash('sha256').update(entry.sessionToken).digest() } : {}),
    ...(expiresAtMs !== undefined ? { expiresAtMs } : {}),
    identity,
  };
}

/** The access keys of one provider, from its key file (the one key-file rule: authn/key-file.ts). */
export class KeyStore {
  readonly #file: KeyFile<Snapshot>;

  constructor(provider: string, file: string) {
    this.#file = keyFile({ provider, file, parse: (text) => parseKeys(provider, text), count: (s) => s.keys.size });
  }

  /** A key file has loaded. */
  get ready(): boolean {
    return this.#file.current !== undefined;
  }

  get lastError(): string | undefined {
    return this.#file.lastError;
  }

  lookup(accessKeyId: string): AccessKey | undefined {
    return this.#file.current?.keys.get(accessKeyId);
  }

  signingKey(accessKeyId: string, key: AccessKey, date: string, region: string, service: string): Buffer {
    return this.#file.current!.signingKey(accessKeyId, key, date, region, service);
  }

  /** Load the file and re-read it when it changes (a Kubernetes secret swapped by rename is seen too). */
  start(): Promise<boolean> {
    return this.#file.start();
  }

  /** Re-read the file now; resolves to whether its current content is in effect. */
  reload(): Promise<boolean> {
    return this.#file.reload();
  }

  close(): void {
    this.#file.close();
  }
}
