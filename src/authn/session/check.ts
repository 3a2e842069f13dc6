/** What the schema cannot say about `login` blocks and `session:<provider>` references (config validation). */
import type { ConfigIssue } from '../../config/issue.js';
import type { Config, RouteConfig } from '../../config/schema.js';

const LOOPBACK = /^(127(\.\d{1,3}){3}|localhost|\[::1\])$/i;
const RESERVED = ['/.gatehouse/login', '/.gatehouse/logout', '/.well-known/jwks.json'];

/** Problems of one provider's login block. */
export function loginIssues(config: Config, name: string): ConfigIssue[] {
  const cfg = config.providers?.[name];
  if (cfg === undefined || cfg.type !== 'oidc' || cfg.login === undefined) return [];
  const path = `/providers/${name}/login`;
  const login = cfg.login;
  const issues: ConfigIssue[] = [];
  if (!(login.scopes ?? ['openid']).includes('openid')) issues.push({ path: `${path}/scopes`, message: 'scopes must include "openid": sign-in needs an ID token' });
  if (cfg.issuer.includes('{tenantid}')) issues.push({ path: `/providers/${name}/issuer`, message: 'browser sign-in needs one tenant\'s issuer (https://login.microsoftonline.com/<tenant id>/v2.0), not the {tenantid} template' });
  let url: URL | undefined;
  try { url = new URL(cfg.issuer); } catch { url = undefined; }
  if (url !== undefined && url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.test(url.hostname))) {
    issues.push({ path: `/providers/${name}/issuer`, message: 'expected an https:// issuer (http:// only to a loopback address): the gateway sends its client secret and receives ID tokens there' });
  }
  const method = login.clientAuth ?? 'client_secret_basic';
  if (method === 'private_key_jwt' && login.privateKey === undefined) issues.push({ path: `${path}/privateKey`, message: 'missing required key "privateKey": `clientAuth: private_key_jwt` needs it' });
  if (method !== 'private_key_jwt') {
    for (const key of ['privateKey', 'keyId'] as const) if (login[key] !== undefined) issues.push({ path: `${path}/${key}`, message: `\`${key}\` is used only with \`clientAuth: private_key_jwt\`` });
    if (login.clientSecret === undefined) issues.push({ path: `${path}/clientSecret`, message: `missing required key "clientSecret": \`clientAuth: ${method}\` needs it` });
  } else if (login.clientSecret !== undefined) {
    issues.push({ path: `${path}/clientSecret`, message: '`clientSecret` is not used with `clientAuth: private_key_jwt`' });
  }
  const redirect = login.redirectPath ?? '/.gatehouse/callback';
  if (RESERVED.includes(redirect)) issues.push({ path: `${path}/redirectPath`, message: `${redirect} is another gateway-owned endpoint` });
  for (const [other, o] of Object.entries(config.providers ?? {})) {
    if (other >= name || o.type !== 'oidc' || o.login === undefined) continue;
    if ((o.login.redirectPath ?? '/.gatehouse/callback') === redirect) issues.push({ path: `${path}/redirectPath`, message: `provider "${other}" already uses the callback path ${redirect}: give each provider its own redirectPath` });
    if ((o.login.cookie?.name ?? 'gh_session') === (login.cookie?.name ?? 'gh_session')) issues.push({ path: `${path}/cookie/name`, message: `provider "${other}" already uses this session cookie name: give each provider its own cookie.name` });
  }
  return issues;
}

/** A route's `session:<provider>` that names a provider without a login block. */
export function sessionReferenceIssues(route: RouteConfig, path: string, config: Config): ConfigIssue[] {
  return (route.authenticate ?? []).flatMap((ref, k) => {
    if (!ref.startsWith('session:')) return [];
    const name = ref.slice('session:'.length);
    const p = config.providers?.[name];
    if (p === undefined) return [];
    return p.type === 'oidc' && p.login !== undefined ? [] : [{ path: `${path}/authenticate/${k}`, message: `"${ref}": provider "${name}" has no \`login\` block (browser sign-in needs one: docs/browser-sso.md)` }];
  });
}
