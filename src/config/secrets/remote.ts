/**
 * Reading the remote secrets a config references, before it is compiled: every `${kind:…}` of a
 * registered provider is found in the parsed document and read (all at once, each with a time
 * limit). A failure is a result, not an exception: the loader turns it into a located issue.
 */
import { Value } from '@sinclair/typebox/value';
import { REFERENCE } from '../references.js';
import { describeSdkError, type RemoteResult, type SecretReader } from './provider.js';
import { SECRET_PROVIDERS, SecretsSchema } from './registry.js';

export type { RemoteResult, RemoteValues } from './provider.js';

const READ_TIMEOUT_MS = 30_000;

/** The provider and argument of a reference's inner text (`keyvault:https://…`), when it is a remote kind. */
export function remoteKind(inner: string): { kind: string; arg: string } | undefined {
  const m = /^([A-Za-z][A-Za-z0-9_-]*):(.*)$/s.exec(inner);
  return m && SECRET_PROVIDERS.has(m[1]!) ? { kind: m[1]!, arg: m[2]! } : undefined;
}

/** Every distinct remote reference in the strings of a parsed document, outside `secrets`. */
export function remoteReferences(doc: unknown): string[] {
  const found = new Set<string>();
  const visit = (v: unknown): void => {
    if (typeof v === 'string') {
      for (const m of v.matchAll(REFERENCE)) if (m[1] !== undefined && remoteKind(m[1])) found.add(m[0]);
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (v !== null && typeof v === 'object') for (const [k, item] of Object.entries(v)) if (k !== 'secrets' || v !== doc) visit(item);
  };
  visit(doc);
  return [...found];
}

/** Readers are kept per provider and settings, so that credentials (and their tokens) outlive a reload. */
const readers = new Map<string, SecretReader>();

function readerFor(kind: string, settings: unknown, env: NodeJS.ProcessEnv): SecretReader {
  const key = `${kind}\0${JSON.stringify(settings ?? null)}`;
  let reader = readers.get(key);
  if (!reader) {
    reader = SECRET_PROVIDERS.get(kind)!.reader(settings, env);
    readers.set(key, reader);
  }
  return reader;
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms); });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Read `refs` with the `secrets` settings given (already free of references; undefined = defaults;
 * settings that are not `valid`, or that the schema rejects, read nothing). Values in `known` are
 * used as they are (a cluster worker gets its primary's), the rest are read.
 */
export async function readRemote(refs: readonly string[], given: { valid: boolean; value: unknown }, env: NodeJS.ProcessEnv, known?: ReadonlyMap<string, string>): Promise<Map<string, RemoteResult>> {
  const settings = given.value;
  const valid = given.valid && (settings === undefined || Value.Check(SecretsSchema, settings));
  const out = new Map<string, RemoteResult>();
  await Promise.all(refs.map(async (ref) => {
    const value = known?.get(ref);
    if (value !== undefined) return void out.set(ref, { value });
    const { kind, arg } = remoteKind(ref.slice(2, -1))!;
    const provider = SECRET_PROVIDERS.get(kind)!;
    if (provider.check(arg) !== undefined) return; // reported by the resolver
    if (!valid) return void out.set(ref, { error: 'not read: the `secrets` settings are invalid' });
    const own = (settings as Record<string, unknown> | undefined)?.[kind];
    try {
      out.set(ref, { value: await withTimeout(readerFor(kind, own, env).read(arg), READ_TIMEOUT_MS) });
    } catch (err) {
      out.set(ref, { error: describeSdkError(err) });
    }
  }));
  return out;
}
