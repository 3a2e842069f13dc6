/** What the schema cannot say about a route's `oauth2` and `token-exchange` credentials (config validation). */
import type { ConfigIssue } from '../../../config/issue.js';
import type { RouteConfig } from '../../../config/schema.js';
import type { OAuth2ClientAuthConfig } from './schema.js';
import { outboundConfigOf } from '../../../upstream/registry.js';

const NEEDS: Record<string, keyof OAuth2ClientAuthConfig> = {
  client_secret_basic: 'clientSecret', client_secret_post: 'clientSecret', private_key_jwt: 'privateKey', client_assertion_file: 'clientAssertionFile',
};
const ONLY_FOR: Partial<Record<keyof OAuth2ClientAuthConfig, readonly string[]>> = {
  clientSecret: ['client_secret_basic', 'client_secret_post'], privateKey: ['private_key_jwt'], keyId: ['private_key_jwt'],
  certificate: ['private_key_jwt'], clientAssertionFile: ['client_assertion_file'],
};
const LOOPBACK = /^(127(\.\d{1,3}){3}|localhost|\[::1\])$/i;

/** `https:`, or `http:` to this machine (a token endpoint gets the client's secret). */
function urlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'expected a URL such as https://login.example.com/oauth2/token';
  }
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && LOOPBACK.test(url.hostname)) return undefined;
  return 'expected an https:// URL (http:// only to a loopback address): the gateway sends its client credentials there';
}

export function clientIssues(cfg: OAuth2ClientAuthConfig, path: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (cfg.tokenUrl === undefined && cfg.issuer === undefined) issues.push({ path: `${path}/tokenUrl`, message: 'missing required key "tokenUrl": set `tokenUrl`, or `issuer` to find the token endpoint by discovery' });
  for (const key of ['tokenUrl', 'issuer'] as const) {
    const problem = cfg[key] === undefined ? undefined : urlProblem(cfg[key]);
    if (problem !== undefined) issues.push({ path: `${path}/${key}`, message: problem });
  }
  const method = cfg.clientAuth ?? 'client_secret_basic';
  const needed = NEEDS[method]!;
  if (cfg[needed] === undefined) issues.push({ path: `${path}/${needed}`, message: `missing required key "${needed}": \`clientAuth: ${method}\` needs it` });
  for (const [key, methods] of Object.entries(ONLY_FOR) as [keyof OAuth2ClientAuthConfig, readonly string[]][]) {
    if (cfg[key] !== undefined && !methods.includes(method)) issues.push({ path: `${path}/${key}`, message: `\`${key}\` is not used with \`clientAuth: ${method}\` (only with ${methods.map((m) => `\`${m}\``).join(', ')})` });
  }
  return issues;
}

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
