/**
 * What the schema cannot say about AWS `credentials` (static keys or a web identity), wherever they
 * are: a route's `sigv4` credential (check.ts adds what depends on the route), an `sqs` upstream.
 */
import type { ConfigIssue } from '../../../config/issue.js';
import { endpointProblem } from '../endpoint.js';
import { clientIssues } from '../oauth2/client-check.js';
import { policyProblem } from './policy.js';
import type { AwsCredentialsConfig } from './schema.js';
import { sessionNameProblem } from './session.js';

/** Issues of `creds` at `at` (the path of `credentials`). */
export function awsCredentialsIssues(creds: AwsCredentialsConfig, at: string): ConfigIssue[] {
  const { static: keys, webIdentity: wi } = creds;
  const issues: ConfigIssue[] = [];
  if (keys === undefined && wi === undefined) issues.push({ path: at, message: 'missing credentials: set `static` (accessKeyId, secretAccessKey) or `webIdentity` (roleArn, tokenFile or token)' });
  if (keys !== undefined && wi !== undefined) issues.push({ path: `${at}/webIdentity`, message: 'set one of `static` and `webIdentity`, not both' });
  if (wi === undefined) return issues;
  const wat = `${at}/webIdentity`;
  if (wi.tokenFile === undefined && wi.token === undefined) issues.push({ path: `${wat}/tokenFile`, message: 'missing required key "tokenFile": set `tokenFile` (e.g. the EKS IRSA token), or `token.oauth2` for the gateway\'s own OAuth2 token' });
  if (wi.tokenFile !== undefined && wi.token !== undefined) issues.push({ path: `${wat}/token`, message: 'set one of `tokenFile` and `token`, not both' });
  if (wi.token?.oauth2 !== undefined) issues.push(...clientIssues(wi.token.oauth2, `${wat}/token/oauth2`));
  const problems: [string, string | undefined, (text: string) => string | undefined][] = [
    ['stsEndpoint', wi.stsEndpoint, (text) => endpointProblem(text, 'https://sts.eu-west-1.amazonaws.com', 'the gateway sends its web identity token there')],
    ['policy', wi.policy, policyProblem],
    ['sessionName', wi.sessionName, sessionNameProblem],
  ];
  for (const [key, value, problemOf] of problems) {
    const problem = value === undefined ? undefined : problemOf(value);
    if (problem !== undefined) issues.push({ path: `${wat}/${key}`, message: problem });
  }
  return issues;
}
