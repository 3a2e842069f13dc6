/**
 * Remote secret providers by reference kind. Adding a backend is a file implementing SecretProvider
 * (provider.ts) and one line in PROVIDERS; its settings appear under `secrets.<kind>`.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { Duration, Strict } from '../types.js';
import type { SecretProvider } from './provider.js';
import { keyVaultProvider } from './keyvault.js';
import { awsSecretsManagerProvider } from './aws-secrets-manager.js';

const PROVIDERS: readonly SecretProvider[] = [keyVaultProvider, awsSecretsManagerProvider] as readonly SecretProvider<TSchema>[];

export const SECRET_PROVIDERS: ReadonlyMap<string, SecretProvider> = new Map(PROVIDERS.map((p) => [p.kind, p]));

/** Default of `secrets.pollInterval`. */
export const DEFAULT_POLL_INTERVAL = '5m';

export const SecretsSchema = Strict({
  pollInterval: Duration(
    'How often every remote secret (`${keyvault:…}`, `${aws-secretsmanager:…}`) is read again. A changed value reloads the configuration, as a changed `${file:}` does; a failed read keeps the last good value (and is logged). `0s` turns polling off.',
    DEFAULT_POLL_INTERVAL,
  ),
  ...Object.fromEntries(PROVIDERS.map((p) => [p.kind, Type.Optional(p.settings)])),
}, 'Remote secret stores: how often their secrets are read again, and each store\'s credentials and endpoints (see docs/secrets.md).');
