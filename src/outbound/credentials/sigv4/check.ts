/** What the schema cannot say about a route's `sigv4` credentials (config validation). */
import type { ConfigIssue } from '../../../config/issue.js';
import type { RouteConfig } from '../../../config/schema.js';
import type { AssumeRoleConfig } from './schema.js';
import { sessionNameProblem, compileSessionName, compileTemplate, tagKeyProblem, templateProblem, TAG_VALUE } from './session.js';
import { outboundConfigOf } from '../../../upstream/registry.js';
import { awsCredentialsIssues } from './credentials-check.js';
import { policyProblem } from './policy.js';

/** Issues of `webIdentity.assumeRole` at `at`, on route `label` (public or not). */
function assumeRoleIssues(ar: AssumeRoleConfig, at: string, label: string, isPublic: boolean): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const publicIssue = (where: string): ConfigIssue => ({ path: where, message: `route ${label} is public: a session made from the caller needs an authenticated caller; add \`authenticate\`, or use a fixed value` });
  if ((ar.durationSeconds ?? 3600) > 3600) issues.push({ path: `${at}/durationSeconds`, message: 'role chaining caps a session at 3600 seconds (1 h): set `durationSeconds` to at most 3600' });
  const name = ar.sessionName ?? '{subject}';
  const nameProblem = sessionNameProblem(name);
  if (nameProblem !== undefined) issues.push({ path: `${at}/sessionName`, message: nameProblem });
  else if (isPublic && compileSessionName(name).perCaller) issues.push(publicIssue(`${at}/sessionName`));
  const tags = ar.sessionTags ?? {};
  const keys = Object.keys(tags);
  if (keys.length > 50) issues.push({ path: `${at}/sessionTags`, message: `${keys.length} session tags: STS takes at most 50` });
  const seen = new Set<string>();
  for (const key of keys) {
    const where = `${at}/sessionTags/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    const keyProblem = tagKeyProblem(key);
    if (keyProblem !== undefined) issues.push({ path: where, message: `tag key ${JSON.stringify(key)}: ${keyProblem}` });
    // Tag keys are case-insensitive to STS: two that differ only in case are one tag.
    if (seen.has(key.toLowerCase())) issues.push({ path: where, message: `tag key ${JSON.stringify(key)} repeats another key but for case; STS treats them as one` });
    seen.add(key.toLowerCase());
    const problem = templateProblem(tags[key]!, TAG_VALUE);
    if (problem !== undefined) issues.push({ path: where, message: problem });
    else if (isPublic && compileTemplate(tags[key]!, TAG_VALUE).perCaller) issues.push(publicIssue(where));
  }
  (ar.transitiveTagKeys ?? []).forEach((key, i) => {
    if (!keys.includes(key)) issues.push({ path: `${at}/transitiveTagKeys/${i}`, message: `${JSON.stringify(key)} is not a key of \`sessionTags\`: a transitive tag key must name one of them` });
  });
  if (ar.policy !== undefined) {
    const problem = policyProblem(ar.policy);
    if (problem !== undefined) issues.push({ path: `${at}/policy`, message: problem });
  }
  return issues;
}

/** Issues of the route at `path` (`/routes/<i>`). */
export function sigv4RouteIssues(route: RouteConfig, path: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const label = JSON.stringify(route.name);
  const out = outboundConfigOf(route.upstream);
  const auth = out.auth ?? [];
  auth.forEach((cfg, k) => {
    if (cfg.type !== 'sigv4') return;
    const at = `${path}/upstream/auth/${k}`;
    if (k !== auth.length - 1) issues.push({ path: at, message: `route ${label}: a sigv4 credential signs the finished request, so it must be the last entry of \`upstream.auth\`` });
    if (out.forwardAuthorization === true) {
      issues.push({ path: `${path}/upstream/forwardAuthorization`, message: `route ${label}: \`forwardAuthorization: true\` contradicts the sigv4 credential, which sets Authorization itself: remove one` });
    }
    issues.push(...awsCredentialsIssues(cfg.credentials, `${at}/credentials`));
    const wi = cfg.credentials.webIdentity;
    if (wi === undefined) return;
    const wat = `${at}/credentials/webIdentity`;
    if (wi.assumeRole !== undefined) {
      issues.push(...assumeRoleIssues(wi.assumeRole, `${wat}/assumeRole`, label, route.public === true));
      if (wi.sessionName !== undefined && sessionNameProblem(wi.sessionName) === undefined && compileSessionName(wi.sessionName).perCaller) {
        issues.push({ path: `${wat}/sessionName`, message: 'with `assumeRole`, `webIdentity.sessionName` names the gateway\'s base session, shared by every caller: use a fixed name and put the caller\'s in `assumeRole.sessionName`' });
      }
    }
    if (wi.sessionName !== undefined && route.public === true && sessionNameProblem(wi.sessionName) === undefined && compileSessionName(wi.sessionName).perCaller) {
      issues.push({ path: `${wat}/sessionName`, message: `route ${label} is public: a session name made from the caller needs an authenticated caller; add \`authenticate\`, or use a fixed name` });
    }
  });
  return issues;
}
