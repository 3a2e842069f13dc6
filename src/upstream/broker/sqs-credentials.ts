/**
 * The SQS client's AWS credentials, from the same config as the `sigv4` outbound credential: static
 * keys, or the temporary keys of a role assumed with a web identity token — a token file (EKS IRSA)
 * or the gateway's own OAuth2 token (sigv4/sts.ts, with its cache and refresh) — given to the SDK
 * as a credential provider function. One client serves every caller of the queue, so the role
 * session is the gateway's own: a fixed session name, no chained per-caller session.
 */
import { isAbsolute } from 'node:path';
import type { ConfigIssue } from '../../config/issue.js';
import type { AwsCredentialsConfig } from '../../outbound/credentials/sigv4/schema.js';
import { awsCredentialsIssues } from '../../outbound/credentials/sigv4/credentials-check.js';
import { compileSessionName, sessionNameProblem } from '../../outbound/credentials/sigv4/session.js';
import { createWebIdentityRoles, type AwsKeys } from '../../outbound/credentials/sigv4/sts.js';

/** Keys as the SDK's credential provider returns them (it refreshes ahead of `expiration`). */
export type ProvidedKeys = AwsKeys & { readonly expiration?: Date };

export interface SqsCredentials {
  /** The SDK's `credentials` provider; rejects with StsError when the role cannot be assumed. */
  readonly provide: () => Promise<ProvidedKeys>;
  start(): Promise<void>;
  close(): void;
}

/** Build the provider (at load; nothing is fetched until the first message). */
export function sqsCredentials(cfg: AwsCredentialsConfig, region: string): SqsCredentials {
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

/** What the schema cannot say about the credentials of an sqs upstream at `path`, besides what it cannot say of any AWS credentials. */
export function sqsCredentialIssues(cfg: AwsCredentialsConfig, path: string): ConfigIssue[] {
  const issues = awsCredentialsIssues(cfg, path);
  const wi = cfg.webIdentity;
  if (wi === undefined || cfg.static !== undefined) return issues;
  const at = `${path}/webIdentity`;
  const absolute = (file: string | undefined, where: string, example: string): void => {
    if (file !== undefined && !isAbsolute(file)) issues.push({ path: where, message: `expected an absolute path, such as ${example}` });
  };
  absolute(wi.tokenFile, `${at}/tokenFile`, '/var/run/secrets/eks.amazonaws.com/serviceaccount/token');
  absolute(wi.token?.oauth2?.clientAssertionFile, `${at}/token/oauth2/clientAssertionFile`, '/var/run/secrets/azure/tokens/azure-identity-token');
  if (wi.assumeRole !== undefined) issues.push({ path: `${at}/assumeRole`, message: 'not supported on the sqs upstream: one client writes the queue for every caller, with the gateway\'s own role session' });
  if (wi.sessionName !== undefined && sessionNameProblem(wi.sessionName) === undefined && compileSessionName(wi.sessionName).perCaller) {
    issues.push({ path: `${at}/sessionName`, message: 'expected a fixed name: one client writes the queue for every caller (the caller is in the message attributes)' });
  }
  return issues;
}
