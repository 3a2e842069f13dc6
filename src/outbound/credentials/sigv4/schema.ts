/**
 * Config of `type: sigv4`: sign the upstream request with AWS Signature Version 4, with static keys
 * or with temporary credentials from STS AssumeRoleWithWebIdentity (a token file, as EKS IRSA
 * projects it, or the gateway's own OAuth2 access token), optionally one role session per caller.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Duration, Strict } from '../../../config/types.js';
import { OAuth2ClientFields } from '../oauth2/schema.js';

const HeaderName = Type.String({ pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$' });

export const StaticKeysSchema = Strict({
  accessKeyId: Type.String({ pattern: '^[A-Za-z0-9]{16,128}$', description: 'The access key id (`AKIA…`, or `ASIA…` with `sessionToken`).' }),
  secretAccessKey: Type.String({ minLength: 1, secret: true, description: 'The secret access key: a reference such as `${file:/secrets/aws-secret-key}` or `${env:AWS_SECRET_ACCESS_KEY}`.' }),
  sessionToken: Type.Optional(Type.String({ minLength: 1, secret: true, description: 'Session token of temporary keys (sent as `x-amz-security-token`); a reference.' })),
}, 'Long-lived (or externally rotated) access keys; secret values are re-read when their reference changes.');

export const WebIdentityTokenSchema = Strict({
  oauth2: Type.Object(OAuth2ClientFields, { additionalProperties: false, description: 'The gateway\'s own OAuth2 client (client credentials grant), as in `type: oauth2`; its access token is the web identity token.' }),
}, 'Where the web identity token comes from, when not from `tokenFile`.');

const RoleArn = (description: string) => Type.String({ pattern: '^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\\w+=,.@/-]{1,512}$', description });

export const AssumeRoleSchema = Strict({
  roleArn: RoleArn('The role the caller\'s session is chained into (sts:AssumeRole with the base session\'s keys), e.g. `arn:aws:iam::123456789012:role/orders-tagged`.'),
  sessionName: Type.Optional(Type.String({ minLength: 1, description: 'RoleSessionName of the chained session, with the placeholders of `webIdentity.sessionName`. Default `{subject}`.' })),
  sessionTags: Type.Optional(Type.Record(Type.String(), Type.String({ minLength: 1 }), {
    maxProperties: 50,
    description: 'Session tags: tag key → template with placeholders (`{subject}`, `{claim:NAME}`, …); each value is reduced to STS\'s tag characters `[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]` (others become `-`) and cut to 256. At most 50; keys of at most 128 such characters. The target role\'s trust policy must allow `sts:TagSession`.',
  })),
  transitiveTagKeys: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { maxItems: 50, description: 'Tag keys (of `sessionTags`) that pass on to further role chaining.' })),
  policy: Type.Optional(Type.String({ minLength: 2, maxLength: 2048, description: 'Inline session policy (JSON) of the chained session.' })),
  durationSeconds: Type.Optional(Type.Integer({ minimum: 900, maximum: 43200, default: 3600, description: 'Lifetime of the chained credentials; role chaining caps it at 3600 (1 h).' })),
  externalId: Type.Optional(Type.String({ pattern: '^[\\w+=,.@:/-]{2,1224}$', description: 'ExternalId the target role\'s trust policy may require (`sts:ExternalId`).' })),
}, 'Chain a per-caller session with session tags from the caller\'s claims: the web identity session is the gateway\'s base session, and each caller\'s session is sts:AssumeRole of `roleArn` with its keys, cached per (session name, tag values).');

export const WebIdentitySchema = Strict({
  roleArn: Type.String({ pattern: '^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\\w+=,.@/-]{1,512}$', description: 'The role to assume, e.g. `arn:aws:iam::123456789012:role/orders-reader`.' }),
  tokenFile: Type.Optional(Type.String({ minLength: 1, description: 'File holding the web identity token, re-read when it rotates (EKS IRSA: `/var/run/secrets/eks.amazonaws.com/serviceaccount/token`). One of `tokenFile` and `token` is required.' })),
  token: Type.Optional(WebIdentityTokenSchema),
  sessionName: Type.Optional(Type.String({
    minLength: 1,
    description: 'RoleSessionName. Placeholders make one session per caller: `{subject}`, `{client_id}`, `{tenant}`, `{provider}`, `{claim:NAME}`; each value is reduced to STS\'s characters `[\\w+=,.@-]` (others become `-`) and the name is cut to 64. Default `gatehouse`.',
  })),
  policy: Type.Optional(Type.String({ minLength: 2, maxLength: 2048, description: 'Inline session policy (JSON) that narrows the role for requests of this route.' })),
  durationSeconds: Type.Optional(Type.Integer({ minimum: 900, maximum: 43200, default: 3600, description: 'Lifetime of the temporary credentials asked for (the role\'s maximum session duration caps it).' })),
  stsEndpoint: Type.Optional(Type.String({ minLength: 1, description: 'STS endpoint URL (https; http only to a loopback address). Default: the regional endpoint `https://sts.<stsRegion>.amazonaws.com`.' })),
  stsRegion: Type.Optional(Type.String({ pattern: '^[a-z0-9-]{1,32}$', description: 'Region of the STS endpoint (default: the signing `region`).' })),
  timeout: Duration('Time STS has to answer.', '10s'),
  refreshBefore: Duration('Assume the role again when less than this is left of the temporary credentials.', '5m'),
  assumeRole: Type.Optional(AssumeRoleSchema),
}, 'Temporary credentials from STS AssumeRoleWithWebIdentity, cached per (session name, policy) until `refreshBefore` ahead of their expiry.');

export const SigV4CredentialsSchema = Strict({
  static: Type.Optional(StaticKeysSchema),
  webIdentity: Type.Optional(WebIdentitySchema),
}, 'The AWS credentials that sign: exactly one of `static` (access keys) and `webIdentity` (a role assumed with a web identity token).');

export const SigV4CredentialSchema = Strict({
  type: Type.Literal('sigv4', { description: 'Sign the request with AWS Signature Version 4.' }),
  service: Type.String({ pattern: '^[a-z0-9-]{1,64}$', description: 'Signing name of the service: `execute-api`, `s3`, `lambda`, `es`, `aoss`, `dynamodb`, …' }),
  region: Type.String({ pattern: '^[a-z0-9-]{1,32}$', description: 'Signing region, e.g. `eu-west-1`.' }),
  payload: Type.Union([Type.Literal('signed'), Type.Literal('unsigned')], {
    default: 'signed',
    description: '`signed`: the body is read (up to the route\'s `maxBodySize`) and its SHA-256 signed; `unsigned`: `x-amz-content-sha256: UNSIGNED-PAYLOAD`, the body streams (S3 and a few services accept it).',
  }),
  signedHeaders: Type.Optional(Type.Array(HeaderName, { description: 'Headers signed besides `host` and the `x-amz-*` the signer sets, when present (e.g. `content-type`). Inbound `x-amz-*` headers are dropped unless listed here (e.g. `x-amz-target` for DynamoDB).' })),
  credentials: SigV4CredentialsSchema,
}, 'Sign the upstream request with AWS SigV4: static keys, or temporary credentials from STS AssumeRoleWithWebIdentity (EKS IRSA token file, or the gateway\'s own OAuth2 token), per caller when `sessionName` names the caller.');

export type SigV4CredentialConfig = Static<typeof SigV4CredentialSchema>;
export type WebIdentityConfig = Static<typeof WebIdentitySchema>;
export type AssumeRoleConfig = Static<typeof AssumeRoleSchema>;
export type StaticKeysConfig = Static<typeof StaticKeysSchema>;
export type AwsCredentialsConfig = Static<typeof SigV4CredentialsSchema>;
