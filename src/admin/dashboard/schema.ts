/** The `admin.dashboard` block: the token login and the sign-in with an OpenID provider (`sso`). */
import { Type, type Static } from '@sinclair/typebox';
import { RuleSchema } from '../../authz/schema.js';
import { LoginSchema } from '../../authn/session/schema.js';
import { Strict } from '../../config/types.js';

const login = LoginSchema.properties;

export const DashboardSsoSchema = Strict({
  provider: Type.String({ minLength: 1, description: 'An `oidc` provider under `providers`: its issuer, preset and claim mapping make the identity the `allow` rules see, exactly as for its bearer tokens.' }),
  clientId: Type.Optional(Type.String({ minLength: 1, description: 'The dashboard\'s own client at the provider (register `<admin origin>/dashboard/sso/callback` as its redirect URI). Absent: the client of the provider\'s `login` block (its `clientId`, `clientSecret`, `clientAuth`, `privateKey`, `keyId`), with that redirect URI added at the provider.' })),
  clientSecret: Type.Optional(Type.String({ minLength: 1, secret: true, description: 'Secret of `clientId` (a reference: `${env:…}`) for `client_secret_basic` / `client_secret_post`.' })),
  clientAuth: Type.Optional(Type.Union([Type.Literal('client_secret_basic'), Type.Literal('client_secret_post'), Type.Literal('private_key_jwt')], { description: 'How `clientId` authenticates at the token endpoint (default `client_secret_basic`).' })),
  privateKey: login.privateKey,
  keyId: login.keyId,
  scopes: Type.Array(Type.String({ minLength: 1, pattern: '^[!#-\\[\\]-~]+$' }), { minItems: 1, default: ['openid', 'profile', 'email'], description: 'Scopes asked for; `openid` is required (add the one that puts groups or roles into the ID token, e.g. `groups` at Okta).' }),
  externalUrl: Type.Optional(Type.String({ pattern: '^https?://[^/?#]+$', description: 'The admin listener\'s origin as browsers reach it (`https://gatehouse-admin.example.com` behind a reverse proxy): the redirect URI is `<externalUrl>/dashboard/sso/callback`, state-changing requests must come from this origin, and with `https://` the session cookie is `__Host-gh_dashboard` (`Secure`). Default: `http://` and the request\'s `Host`.' })),
  allow: Type.Array(RuleSchema, { minItems: 1, description: 'Who may see the dashboard: a signed-in user matching at least one rule (the vocabulary of routes\' `allow`: `subject`, `groups`, `roles`, `claims` …). Anyone else is refused (403) and gets no session.' }),
}, 'Sign in to the dashboard with an OpenID provider (authorization code + PKCE); see docs/dashboard.md.');

export const DashboardSchema = Strict({
  token: Type.Optional(Type.String({ minLength: 16, secret: true, description: 'The dashboard\'s login token (a secret reference: `${env:GATEHOUSE_DASHBOARD_TOKEN}`), at least 16 characters. Entered on the login page, or sent as `Authorization: Bearer <token>` to the JSON APIs. `token`, `sso` or both.' })),
  sso: Type.Optional(DashboardSsoSchema),
}, 'A read-only dashboard at `/dashboard` on the admin port (live traffic, routes, providers, a policy simulator, the audit tail), behind its own login (a token, SSO or both); see docs/dashboard.md. Absent: no dashboard.');

export type DashboardConfig = Static<typeof DashboardSchema>;
export type DashboardSsoConfig = Static<typeof DashboardSsoSchema>;
