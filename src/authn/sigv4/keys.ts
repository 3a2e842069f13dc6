/** The SigV4 key file: access key id → secret and who the key belongs to. Loaded at start, re-read when it changes. */
import { createHash } from 'node:crypto';
import { channel } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { watchFiles } from '../../config/watch.js';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse } from 'yaml';
import type { Identity } from '../../identity/identity.js';
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

/** Published after each (re)load attempt: `{ provider, ok, keys?, error? }`. Never carries a secret. */
export const keyFileLoaded = channel('gatehouse:sigv4:keys');

const MAX_SIGNING_KEYS = 10_000;

/** One load of the key file, with its own signing-key cache (a changed secret can never hit an old entry). */
class Snapshot {
  private readonly signingKeys = new Map<string, Buffer>();
  constructor(readonly keys: ReadonlyMap<string, AccessKey>, readonly fingerprint: string) {}

  /** One HMAC chain per key and day; region and service are fixed per provider. */
  signingKey(accessKeyId: string, key: AccessKey, date: string, region: string, service: string): Buffer {
    const id = `${accessKeyId}/${date}/${region}/${service}`;
    let derived = this.signingKeys.get(id);
    if (!derived) {
      derived = deriveSigningKey(key.secret, date, region, service);
      if (this.signingKeys.size >= MAX_SIGNING_KEYS) this.signingKeys.delete(this.signingKeys.keys().next().value!);
      this.signingKeys.set(id, derived);
    }
    return derived;
  }
}

/** The keys of one provider. Construction reads the file and throws when it is unusable. */
export class KeyStore {
  private current: Snapshot;
  private stopWatch: (() => void) | undefined;

  constructor(private readonly provider: string, private readonly file: string) {
    this.current = this.load();
  }

  lookup(accessKeyId: string): AccessKey | undefined {
    return this.current.keys.get(accessKeyId);
  }

  signingKey(accessKeyId: string, key: AccessKey, date: string, region: string, service: string): Buffer {
    return this.current.signingKey(accessKeyId, key, date, region, service);
  }

  /** Re-read the file when it changes (a Kubernetes secret swapped by rename is seen too). */
  watch(): void {
    this.stopWatch ??= watchFiles([this.file], () => this.reload());
  }

  close(): void {
    this.stopWatch?.();
    this.stopWatch = undefined;
  }

  /** Re-read the file; a file that fails to load keeps the previous keys. */
  reload(): void {
    try {
      const next = this.load();
      if (next.fingerprint !== this.current.fingerprint) this.current = next;
    } catch (err) {
      if (keyFileLoaded.hasSubscribers) keyFileLoaded.publish({ provider: this.provider, ok: false, error: (err as Error).message });
    }
  }

  private load(): Snapshot {
    const fail = (why: string): never => { throw new Error(`provider "${this.provider}": key file ${this.file}: ${why}`); };
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      return fail(`cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    let data: unknown;
    try {
      data = parse(text);
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
    for (const [id, entry] of Object.entries(data)) keys.set(id, this.compile(id, entry, fail));
    if (keyFileLoaded.hasSubscribers) keyFileLoaded.publish({ provider: this.provider, ok: true, keys: keys.size });
    return new Snapshot(keys, createHash('sha256').update(text).digest('hex'));
  }

  private compile(id: string, entry: Static<typeof AccessKeySchema>, fail: (why: string) => never): AccessKey {
    const expiresAtMs = entry.expiresAt === undefined ? undefined : Date.parse(entry.expiresAt);
    if (expiresAtMs !== undefined && !Number.isFinite(expiresAtMs)) fail(`/${id}/expiresAt: not an ISO 8601 time`);
    const identity: Identity = {
      provider: this.provider,
      subject: entry.principal ?? id,
      clientId: id,
      roles: entry.roles ?? [],
      groups: entry.groups ?? [],
      scopes: entry.scopes ?? [],
      authMethod: 'sigv4',
      claims: { ...(entry.principal ? { arn: entry.principal } : {}), access_key_id: id, session: entry.sessionToken !== undefined },
      ...(expiresAtMs !== undefined ? { expiresAt: Math.floor(expiresAtMs / 1000) } : {}),
    };
    return {
      secret: entry.secret,
      ...(entry.sessionToken !== undefined ? { sessionTokenHash: createHash('sha256').update(entry.sessionToken).digest() } : {}),
      ...(expiresAtMs !== undefined ? { expiresAtMs } : {}),
      identity,
    };
  }
}
