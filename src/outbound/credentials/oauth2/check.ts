/** What the schema cannot say about a route's `oauth2` and `token-exchange` credentials (config validation). */
import type { ConfigIssue } from '../../../config/issue.js';
import type { RouteConfig } from '../../../config/schema.js';
import { outboundConfigOf } from '../../../upstream/registry.js';
import { clientIssues } from './client-check.js';

/** Issues of the route at `path` (`/routes/<i>`). */
export function oauth2RouteIssues(route: RouteConfig, path: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const label = JSON.stringify(route.name);
  const out = outboundConfigOf(route.upstream);
  (out.auth ?? []).forEach((cfg, k) => {
    if (cfg.type !== 'oauth2' && cfg.type !== 'token-exchange') return;
    const at = `${path}/upstream/auth/${k}`;
    issues.push(...clientIssues(cfg, at));
    if ((cfg.header ?? 'authorization').toLowerCase() === 'authorization' && out.forwardAuthorization === true) {
      issues.push({ path: `${path}/upstream/forwardAuthorization`, message: `route ${label}: \`forwardAuthorization: true\` contradicts the ${cfg.type} credential, which sets Authorization itself: remove one, or give the credential another \`header\`` });
    }
    if (cfg.type !== 'token-exchange') return;
    const subject = cfg.subject ?? 'caller-token';
    if (route.public === true) issues.push({ path: at, message: `route ${label} is public: a token-exchange credential needs an authenticated caller to exchange a token for; add \`authenticate\` or use \`type: oauth2\`` });
    if (subject === 'caller-token' && route.token?.header === false) issues.push({ path: `${path}/token/header`, message: `route ${label}: \`subject: caller-token\` exchanges the token of the Authorization header, which this route does not accept` });
    if (cfg.preset === 'entra-obo') {
      if (subject !== 'caller-token') issues.push({ path: `${at}/subject`, message: '`preset: entra-obo` exchanges the caller\'s token: use `subject: caller-token`' });
      if (cfg.scope === undefined) issues.push({ path: `${at}/scope`, message: 'missing required key "scope": `preset: entra-obo` asks for scopes (e.g. api://<backend>/.default)' });
      for (const key of ['audience', 'resource', 'requestedTokenType', 'subjectTokenType', 'assertionAudience'] as const) {
        if (cfg[key] !== undefined) issues.push({ path: `${at}/${key}`, message: `\`${key}\` is not used with \`preset: entra-obo\` (Entra takes \`scope\`)` });
      }
    } else if (subject !== 'assertion' && cfg.assertionAudience !== undefined) {
      issues.push({ path: `${at}/assertionAudience`, message: '`assertionAudience` is only used with `subject: assertion`' });
    }
  });
  return issues;
}
