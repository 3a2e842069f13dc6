/**
 * Remote secret providers: what a `${kind:ARG}` reference to a secret store (Azure Key Vault, AWS
 * Secrets Manager, …) needs. A provider checks a reference's syntax at load, and makes a reader
 * from its settings (`secrets.<kind>` in the config) that fetches one secret. Adding a backend is
 * one file implementing this plus one line in registry.ts.
 *
 * Readers throw SecretReadError, whose message says why (HTTP status, the store's error code, a
 * credential that could not be obtained) and never contains a secret value.
 */
import type { Static, TSchema } from '@sinclair/typebox';

export interface SecretProvider<S extends TSchema = TSchema> {
  /** The reference kind, `keyvault` in `${keyvault:…}`; also the key of its settings under `secrets`. */
  readonly kind: string;
  /** How a reference is written, for messages and docs: `${keyvault:https://VAULT.vault.azure.net/secrets/NAME[/VERSION]}`. */
  readonly syntax: string;
  /** The schema of `secrets.<kind>` (credentials, endpoints). */
  readonly settings: S;
  /** What is wrong with a reference's argument (the text after `kind:`), or undefined when it is well formed. */
  check(arg: string): string | undefined;
  /** A reader with these settings (absent: every default), built once per config load. */
  reader(settings: Static<S> | undefined, env: NodeJS.ProcessEnv): SecretReader;
}

export interface SecretReader {
  /** The current value of the secret `arg` names (already checked). */
  read(arg: string): Promise<string>;
}

export type RemoteResult = { readonly value: string } | { readonly error: string };
/** Reference text (`${keyvault:…}`) → what reading it gave. */
export type RemoteValues = ReadonlyMap<string, RemoteResult>;

/** Why a secret could not be read; the message is safe to show and to log. */
export class SecretReadError extends Error {
  override readonly name = 'SecretReadError';
}

/** A safe one-line description of an SDK error: status and code, and the first line of its message. */
export function describeSdkError(err: unknown): string {
  if (err instanceof SecretReadError) return err.message;
  const e = err as { statusCode?: unknown; $metadata?: { httpStatusCode?: unknown }; code?: unknown; name?: unknown; message?: unknown };
  const status = typeof e.statusCode === 'number' ? e.statusCode : typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const code = typeof e.code === 'string' ? e.code : typeof e.name === 'string' ? e.name : 'Error';
  const first = typeof e.message === 'string' ? e.message.split('\n', 1)[0]!.slice(0, 200) : '';
  return `${status !== undefined ? `HTTP ${status} ` : ''}${code}${first !== '' && first !== code ? `: ${first}` : ''}`;
}
