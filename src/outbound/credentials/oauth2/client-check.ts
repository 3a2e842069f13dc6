/** What the schema cannot say about an OAuth2 client config, wherever it is (a credential, a web identity token source). */
import type { ConfigIssue } from '../../../config/issue.js';
import { endpointProblem } from '../endpoint.js';
import type { OAuth2ClientAuthConfig } from './schema.js';

const NEEDS: Record<string, keyof OAuth2ClientAuthConfig> = {
  client_secret_basic: 'clientSecret', client_secret_post: 'clientSecret', private_key_jwt: 'privateKey', client_assertion_file: 'clientAssertionFile',
};
const ONLY_FOR: Partial<Record<keyof OAuth2ClientAuthConfig, readonly string[]>> = {
  clientSecret: ['client_secret_basic', 'client_secret_post'], privateKey: ['private_key_jwt'], keyId: ['private_key_jwt'],
  certificate: ['private_key_jwt'], clientAssertionFile: ['client_assertion_file'],
};

/** `https:`, or `http:` to this machine (a token endpoint gets the client's secret). */
const urlProblem = (text: string): string | undefined =>
  endpointProblem(text, 'https://login.example.com/oauth2/token', 'the gateway sends its client credentials there');

/** Issues of the OAuth2 client config `cfg` at `path`. */
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
