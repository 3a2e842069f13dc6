/** What the schema cannot say about `admin.dashboard` (config validation): a way to sign in, and a usable SSO client. */
import type { ConfigIssue } from '../../config/issue.js';
import type { Config } from '../../config/schema.js';
import { closest } from '../../config/validate.js';

const LOOPBACK = /^(127(\.\d{1,3}){3}|localhost|\[::1\])$/i;
const PATH = '/admin/dashboard';

/** Problems of `admin.dashboard`. */
export function dashboardIssues(config: Config): ConfigIssue[] {
  const d = config.admin?.dashboard;
  if (d === undefined) return [];
  if (d.token === undefined && d.sso === undefined) {
    return [{ path: PATH, message: 'the dashboard has no way to sign in: set `token` (a secret reference such as ${env:GATEHOUSE_DASHBOARD_TOKEN}), `sso` (sign in with an OIDC provider; docs/dashboard.md) or both — or remove `admin.dashboard`' }];
  }
  const sso = d.sso;
  if (sso === undefined) return [];
  const path = `${PATH}/sso`;
  const issues: ConfigIssue[] = [];
  const oidc = Object.entries(config.providers ?? {}).filter(([, p]) => p.type === 'oidc').map(([n]) => n);
  const provider = config.providers?.[sso.provider];
  if (provider === undefined || provider.type !== 'oidc') {
    const guess = closest(sso.provider, oidc);
    const what = provider === undefined ? `unknown provider "${sso.provider}"` : `provider "${sso.provider}" is of type ${provider.type}, not oidc`;
    issues.push({ path: `${path}/provider`, message: `${what}: name an oidc provider under providers${guess ? `; did you mean "${guess}"?` : ''} (${oidc.length > 0 ? `oidc providers: ${oidc.join(', ')}` : 'none is configured'})` });
    return issues;
  }
  if (!(sso.scopes ?? ['openid']).includes('openid')) issues.push({ path: `${path}/scopes`, message: 'scopes must include "openid": sign-in needs an ID token' });
  let url: URL | undefined;
  try { url = new URL(provider.issuer); } catch { url = undefined; }
  if (url !== undefined && url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.test(url.hostname))) {
    issues.push({ path: `/providers/${sso.provider}/issuer`, message: 'expected an https:// issuer (http:// only to a loopback address): the dashboard sends its client secret and receives ID tokens there' });
  }
  if (provider.issuer.includes('{tenantid}')) issues.push({ path: `/providers/${sso.provider}/issuer`, message: 'sign-in needs one tenant\'s issuer, not the {tenantid} template' });
  if (sso.clientId === undefined) {
    if (provider.login === undefined) issues.push({ path: `${path}/clientId`, message: `missing required key "clientId": provider "${sso.provider}" has no \`login\` block whose client the dashboard could use; set clientId and clientSecret (register <admin origin>/dashboard/sso/callback at the provider)` });
    for (const key of ['clientSecret', 'clientAuth', 'privateKey', 'keyId'] as const) {
      if (sso[key] !== undefined) issues.push({ path: `${path}/${key}`, message: `\`${key}\` is used only with \`clientId\` (without it the provider's login client is used): add clientId or remove ${key}` });
    }
    return issues;
  }
  const method = sso.clientAuth ?? 'client_secret_basic';
  if (method === 'private_key_jwt') {
    if (sso.privateKey === undefined) issues.push({ path: `${path}/privateKey`, message: 'missing required key "privateKey": `clientAuth: private_key_jwt` needs it' });
    if (sso.clientSecret !== undefined) issues.push({ path: `${path}/clientSecret`, message: '`clientSecret` is not used with `clientAuth: private_key_jwt`: remove it' });
  } else {
    if (sso.clientSecret === undefined) issues.push({ path: `${path}/clientSecret`, message: `missing required key "clientSecret": \`clientAuth: ${method}\` needs it (a secret reference such as \${env:DASHBOARD_CLIENT_SECRET})` });
    for (const key of ['privateKey', 'keyId'] as const) if (sso[key] !== undefined) issues.push({ path: `${path}/${key}`, message: `\`${key}\` is used only with \`clientAuth: private_key_jwt\`` });
  }
  return issues;
}
