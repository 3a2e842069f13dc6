/**
 * The SQS client's AWS credentials, from the same config as the `sigv4` outbound credential: static
 * keys, or the temporary keys of a role assumed with a web identity token — a token file (EKS IRSA)
 * or the gateway's own OAuth2 token (sigv4/sts.ts, with its cache and refresh) — given to the SDK as a credential provider function. One client serves every
 * caller of the queue, so the role session is the gateway's own: a fixed session name, no chained
 * per-caller session.
 */
import { isAbsolute } from 'node:path';
import type { ConfigIssue } from '../../config/issue.js';
import { endpointProblem } from '../../outbound/credentials/endpoint.js';
import { clientIssues } from '../../outbound/credentials/oauth2/client-check.js';
import type { SigV4CredentialsSchema } from '../../outbound/credentials/sigv4/schema.js';
import { policyProblem } from '../../outbound/credentials/sigv4/policy.js';
import { compileSessionName, sessionNameProblem } from '../../outbound/credentials/sigv4/session.js';
import { createWebIdentityRoles, type AwsKeys } from '../../outbound/credentials/sigv4/sts.js';

export type SqsCredentialsConfig = typeof SigV4CredentialsSchema.static;

/** Keys as the SDK's credential provider returns them (it refreshes ahead of `expiration`). */
export type ProvidedKeys = AwsKeys & { readonly expiration?: Date };

export interface SqsCredentials {
  /** The SDK's `credentials` provider; rejects with StsError when the role cannot be assumed. */
  readonly provide: () => Promise<ProvidedKeys>;
  start(): Promise<void>;
  close(): void;
}

/** Build the provider (at load; nothing is fetched until the first message). */
export function sqsCredentials(cfg: SqsCredentialsConfig, region: string): SqsCredentials {
  const s = cfg.static;
  if (s !== undefined) {
    const keys: ProvidedKeys = { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey, ...(s.sessionToken !== undefined ? { sessionToken: s.sessionToken } : {}) };
    return { provide: () => Promise.resolve(keys), start: () => Promise.resolve(), close: () => undefined };
  }
  const wi = cfg.webIdentity;
  if (wi === undefined) throw new Error('sqs: set `credentials.static` or `credentials.webIdentity`');
  const sessionName = compileSessionName(wi.sessionName).name(undefined);
  if (sessionName === undefined) throw new Error('sqs: `webIdentity.sessionName` must be a fixed name');
  // Its files are absolute paths (sqsCredentialIssues): no config directory is needed to find them.
  const roles = createWebIdentityRoles(wi, region, { baseDir: '/' });
  return {
    async provide() {
      const role = await roles.assume(sessionName);
      return { ...role.keys, expiration: role.expiration };
    },
    start: () => roles.start(),
    close: () => roles.close(),
  };
}

/** What the schema cannot say about the credentials of an sqs upstream at `path`. */
export function sqsCredentialIssues(cfg: SqsCredentialsConfig, path: string): ConfigIssue[] {
  const { static: keys, webIdentity: wi } = cfg;
  if (keys === undefined && wi === undefined) return [{ path, message: 'missing credentials: set `static` (accessKeyId, secretAccessKey) or `webIdentity` (roleArn, tokenFile)' }];
  if (keys !== undefined && wi !== undefined) return [{ path: `${path}/webIdentity`, message: 'set one of `static` and `webIdentity`, not both' }];
  if (wi === undefined) return [];
  const at = `${path}/webIdentity`;
  const issues: ConfigIssue[] = [];
  const absolute = (file: string | undefined, where: string, example: string): void => {
    if (file !== undefined && !isAbsolute(file)) issues.push({ path: where, message: `expected an absolute path, such as ${example}` });
  };
  if (wi.tokenFile === undefined && wi.token === undefined) issues.push({ path: `${at}/tokenFile`, message: 'missing required key "tokenFile": set `tokenFile` (e.g. the EKS IRSA token), or `token.oauth2` for the gateway\'s own OAuth2 token' });
  if (wi.tokenFile !== undefined && wi.token !== undefined) issues.push({ path: `${at}/token`, message: 'set one of `tokenFile` and `token`, not both' });
  absolute(wi.tokenFile, `${at}/tokenFile`, '/var/run/secrets/eks.amazonaws.com/serviceaccount/token');
  const oauth2 = wi.token?.oauth2;
  if (oauth2 !== undefined) {
    issues.push(...clientIssues(oauth2, `${at}/token/oauth2`));
    absolute(oauth2.clientAssertionFile, `${at}/token/oauth2/clientAssertionFile`, '/var/run/secrets/azure/tokens/azure-identity-token');
  }
  if (wi.assumeRole !== undefined) issues.push({ path: `${at}/assumeRole`, message: 'not supported on the sqs upstream: one client writes the queue for every caller, with the gateway\'s own role session' });
  if (wi.sessionName !== undefined) {
    const problem = sessionNameProblem(wi.sessionName);
    if (problem !== undefined) issues.push({ path: `${at}/sessionName`, message: problem });
    else if (compileSessionName(wi.sessionName).perCaller) issues.push({ path: `${at}/sessionName`, message: 'expected a fixed name: one client writes the queue for every caller (the caller is in the message attributes)' });
  }
  if (wi.policy !== undefined) {
    const problem = policyProblem(wi.policy);
    if (problem !== undefined) issues.push({ path: `${at}/policy`, message: problem });
  }
  if (wi.stsEndpoint !== undefined) {
    const problem = endpointProblem(wi.stsEndpoint, 'https://sts.eu-west-1.amazonaws.com', 'the gateway sends its web identity token there');
    if (problem !== undefined) issues.push({ path: `${at}/stsEndpoint`, message: problem });
  }
  return issues;
}
