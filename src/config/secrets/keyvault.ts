/**
 * `${keyvault:https://VAULT.vault.azure.net/secrets/NAME}` (optionally `/VERSION`): a secret in Azure
 * Key Vault, read with `@azure/keyvault-secrets` and `@azure/identity`'s DefaultAzureCredential
 * (environment service principal, workload identity, managed identity, then developer logins), which
 * reads its usual variables (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET,
 * AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST, IDENTITY_ENDPOINT, …); `secrets.keyvault`
 * overrides the tenant, the managed identity and the authority host.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { SecretClient } from '@azure/keyvault-secrets';
import type { DefaultAzureCredentialOptions, TokenCredential } from '@azure/identity';
import { Strict } from '../types.js';
import { describeSdkError, SecretReadError, type SecretProvider } from './provider.js';

export const KeyVaultSettingsSchema = Strict({
  tenantId: Type.Optional(Type.String({ minLength: 1, description: 'Entra tenant of the credential (default: `AZURE_TENANT_ID`, else the tenant the vault names in its challenge).' })),
  managedIdentityClientId: Type.Optional(Type.String({ minLength: 1, description: 'Client id of a user-assigned managed identity (default: `AZURE_CLIENT_ID`, else the system-assigned identity).' })),
  authorityHost: Type.Optional(Type.String({ pattern: '^https://', description: 'Entra authority for sovereign clouds, e.g. `https://login.microsoftonline.us` (default: `AZURE_AUTHORITY_HOST`, else the public cloud).' })),
  verifyChallengeResource: Type.Boolean({ default: true, description: 'Require the resource in the vault\'s authentication challenge to be the vault\'s own domain (`vault.azure.net`, `vault.azure.cn`, …), so a token is only ever sent for Key Vault. Turn off only for a vault stand-in on a host outside that domain.' }),
}, 'Azure Key Vault credentials (the reference names the vault).');

type Settings = Static<typeof KeyVaultSettingsSchema>;

const NAME = /^[0-9A-Za-z-]{1,127}$/;
const VERSION = /^[0-9A-Za-z]{32}$/;

/** The vault URL, secret name and version a reference names, or why it does not. */
export function parseKeyVaultReference(arg: string): { vault: string; name: string; version: string | undefined } | string {
  let url: URL;
  try {
    url = new URL(arg);
  } catch {
    return 'expected a secret identifier URL: https://VAULT.vault.azure.net/secrets/NAME[/VERSION]';
  }
  if (url.protocol !== 'https:') return 'Key Vault is reached over https only';
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') return 'the secret URL takes no query, fragment or user info';
  const parts = url.pathname.split('/').slice(1);
  if (parts[0] !== 'secrets' || parts.length < 2 || parts.length > 3 || !NAME.test(parts[1]!)) return 'the path must be /secrets/NAME (letters, digits, dashes) or /secrets/NAME/VERSION';
  if (parts.length === 3 && !VERSION.test(parts[2]!)) return 'a secret version is 32 letters and digits';
  return { vault: url.origin, name: parts[1]!, version: parts[2] };
}

export const keyVaultProvider: SecretProvider<typeof KeyVaultSettingsSchema> = {
  kind: 'keyvault',
  syntax: '${keyvault:https://VAULT.vault.azure.net/secrets/NAME[/VERSION]}',
  settings: KeyVaultSettingsSchema,
  check(arg) {
    const parsed = parseKeyVaultReference(arg);
    return typeof parsed === 'string' ? parsed : undefined;
  },
  reader(settings: Settings | undefined) {
    const options: DefaultAzureCredentialOptions = {
      ...(settings?.tenantId !== undefined ? { tenantId: settings.tenantId } : {}),
      ...(settings?.managedIdentityClientId !== undefined ? { managedIdentityClientId: settings.managedIdentityClientId } : {}),
      ...(settings?.authorityHost !== undefined ? { authorityHost: settings.authorityHost } : {}),
    };
    // The SDKs are loaded on first use: a config without Key Vault references never pays for them.
    let credential: Promise<TokenCredential> | undefined;
    const clients = new Map<string, Promise<SecretClient>>();
    const clientFor = (vault: string): Promise<SecretClient> => {
      credential ??= import('@azure/identity').then(({ DefaultAzureCredential }) => new DefaultAzureCredential(options));
      let client = clients.get(vault);
      if (!client) {
        client = Promise.all([import('@azure/keyvault-secrets'), credential]).then(([{ SecretClient: Client }, cred]) =>
          new Client(vault, cred, { disableChallengeResourceVerification: settings?.verifyChallengeResource === false }));
        clients.set(vault, client);
      }
      return client;
    };
    return {
      async read(arg) {
        const ref = parseKeyVaultReference(arg);
        if (typeof ref === 'string') throw new SecretReadError(ref);
        try {
          const client = await clientFor(ref.vault);
          const secret = await client.getSecret(ref.name, ref.version !== undefined ? { version: ref.version } : {});
          if (secret.properties.enabled === false) throw new SecretReadError('the secret version is disabled');
          if (secret.value === undefined) throw new SecretReadError('Key Vault returned no value');
          return secret.value;
        } catch (err) {
          throw new SecretReadError(`Key Vault: ${describeSdkError(err)}`);
        }
      },
    };
  },
};
