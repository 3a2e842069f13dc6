/**
 * `${aws-secretsmanager:NAME-or-ARN}`, optionally `#jsonKey`: a secret in AWS Secrets Manager (its
 * AWSCURRENT version), read with `@aws-sdk/client-secrets-manager`. Credentials and region come
 * from the SDK's default chain (AWS_ACCESS_KEY_ID…, AWS_PROFILE, web identity, ECS/EC2 roles,
 * AWS_REGION); an ARN names its own region; `secrets.aws-secretsmanager` overrides the region and the
 * endpoint (VPC endpoints, tests). With `#key` the secret is a JSON object and the value is its `key`.
 */
import { Type, type Static } from '@sinclair/typebox';
import type * as SecretsManagerSdk from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Strict } from '../types.js';
import { describeSdkError, SecretReadError, type SecretProvider } from './provider.js';

export const AwsSecretsSettingsSchema = Strict({
  region: Type.Optional(Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-[0-9]+$', description: 'Region of secrets named without an ARN (default: the SDK\'s, `AWS_REGION`).' })),
  endpoint: Type.Optional(Type.String({ pattern: '^https?://', description: 'Secrets Manager endpoint, e.g. a VPC endpoint (default: the region\'s; `AWS_ENDPOINT_URL_SECRETS_MANAGER` also works).' })),
}, 'AWS Secrets Manager settings (credentials come from the SDK\'s default chain).');

type Settings = Static<typeof AwsSecretsSettingsSchema>;

const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const ARN = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

/** The secret id, its region when an ARN names one, and the JSON key; or why the reference is malformed. */
export function parseAwsReference(arg: string): { id: string; region: string | undefined; key: string | undefined } | string {
  const hash = arg.indexOf('#');
  const id = hash === -1 ? arg : arg.slice(0, hash);
  const key = hash === -1 ? undefined : arg.slice(hash + 1);
  if (key === '') return 'empty JSON key after "#"';
  const arn = ARN.exec(id);
  if (!arn && (id.startsWith('arn:') || !NAME.test(id))) return 'expected a secret name (letters, digits, /_+=.@-) or a Secrets Manager ARN, optionally followed by #jsonKey';
  return { id, region: arn?.[1], key };
}

/** The value at `key` of a JSON object secret. */
function jsonField(text: string, key: string): string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new SecretReadError(`the secret is not JSON, so it has no key "${key}"`);
  }
  const value = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Record<string, unknown>)[key] : undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new SecretReadError(`the secret's JSON has no string at key "${key}"`);
}

export const awsSecretsManagerProvider: SecretProvider<typeof AwsSecretsSettingsSchema> = {
  kind: 'aws-secretsmanager',
  syntax: '${aws-secretsmanager:NAME-or-ARN[#jsonKey]}',
  settings: AwsSecretsSettingsSchema,
  check(arg) {
    const parsed = parseAwsReference(arg);
    return typeof parsed === 'string' ? parsed : undefined;
  },
  reader(settings: Settings | undefined) {
    // The SDK is loaded on first use: a config without Secrets Manager references never pays for it.
    const sdk = (): Promise<typeof SecretsManagerSdk> => import('@aws-sdk/client-secrets-manager');
    const clients = new Map<string, Promise<SecretsManagerClient>>();
    const client = (region: string | undefined): Promise<SecretsManagerClient> => {
      const r = region ?? settings?.region;
      let c = clients.get(r ?? '');
      if (!c) {
        c = sdk().then(({ SecretsManagerClient: Client }) => new Client({ ...(r !== undefined ? { region: r } : {}), ...(settings?.endpoint !== undefined ? { endpoint: settings.endpoint } : {}) }));
        clients.set(r ?? '', c);
      }
      return c;
    };
    return {
      async read(arg) {
        const ref = parseAwsReference(arg);
        if (typeof ref === 'string') throw new SecretReadError(ref);
        let text: string;
        try {
          const { GetSecretValueCommand } = await sdk();
          const out = await (await client(ref.region)).send(new GetSecretValueCommand({ SecretId: ref.id }));
          if (out.SecretString !== undefined) text = out.SecretString;
          else if (out.SecretBinary !== undefined) text = Buffer.from(out.SecretBinary).toString('utf8');
          else throw new SecretReadError('Secrets Manager returned no value');
        } catch (err) {
          throw new SecretReadError(`Secrets Manager: ${describeSdkError(err)}`);
        }
        return ref.key === undefined ? text : jsonField(text, ref.key);
      },
    };
  },
};
