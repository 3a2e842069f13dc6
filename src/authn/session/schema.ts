/** The `login` block of an OIDC provider: browser sign-in (authorization code + PKCE) and sealed session cookies. */
import { Type, type Static } from '@sinclair/typebox';
import { Duration, Strict } from '../../config/types.js';

const Path = (description: string, def: string) => Type.String({ pattern: '^/[A-Za-z0-9._~/-]*$', default: def, description });

export const LoginSchema = Strict({
  clientId: Type.String({ minLength: 1, description: 'The gateway\'s client id at the provider (a confidential web client whose redirect URI is `<origin><redirectPath>`).' }),
  clientSecret: Type.Optional(Type.String({ minLength: 1, secret: true, description: 'Client secret (a reference: `${env:…}`, `${file:…}`) for `client_secret_basic` / `client_secret_post`.' })),
  clientAuth: Type.Union([Type.Literal('client_secret_basic'), Type.Literal('client_secret_post'), Type.Literal('private_key_jwt')], { default: 'client_secret_basic', description: 'How the gateway authenticates at the token endpoint: the secret (HTTP Basic or form body), or `private_key_jwt` (a JWT signed with `privateKey`; Entra ID certificate credentials).' }),
  privateKey: Type.Optional(Type.String({ minLength: 1, secret: true, description: 'PEM private key for `private_key_jwt` (RSA → RS256, P-256 → ES256; a reference such as `${file:/secrets/login-key.pem}`).' })),
  keyId: Type.Optional(Type.String({ minLength: 1, description: '`kid` of the client assertion (`private_key_jwt`), as registered at the provider.' })),
  scopes: Type.Array(Type.String({ minLength: 1, pattern: '^[!#-\\[\\]-~]+$' }), { minItems: 1, default: ['openid', 'profile', 'email', 'offline_access'], description: 'Scopes asked for; `openid` is required. `offline_access` asks for a refresh token.' }),
  prompt: Type.Optional(Type.String({ minLength: 1, description: 'OIDC `prompt` sent with every sign-in (`consent`: some providers issue refresh tokens only then).' })),
  redirectPath: Path('Gateway-owned callback path (registered at the provider as `<origin><redirectPath>`).', '/.gatehouse/callback'),
  baseUrl: Type.Optional(Type.String({ pattern: '^https?://[^/?#]+$', description: 'The public origin of the gateway (`https://app.example.com`). Default: the request\'s own scheme and host (as trusted proxies report them).' })),
  keys: Type.Array(Type.String({ minLength: 32, secret: true }), { minItems: 1, description: 'Session sealing secrets (references, at least 32 characters each), newest first: new sessions are sealed with the first, existing ones open with any listed key; a removed key\'s sessions are refused. Rotate by prepending a key and later removing the old one.' }),
  cookie: Type.Optional(Strict({
    name: Type.String({ pattern: '^gh_[A-Za-z0-9_-]+$', default: 'gh_session', description: 'Cookie base name, starting `gh_` (the gateway never forwards its `__Host-gh_…` cookies upstream); sent as `__Host-<name>.0`, `.1`, … (chunks under 4 KB each).' }),
  }, 'Session cookie settings. Cookies are always `__Host-`, `Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`.')),
  idleTimeout: Duration('A session unused this long has ended.', '8h'),
  absoluteTimeout: Duration('A session ends this long after sign-in, however active.', '24h'),
  refreshBefore: Duration('Refresh the provider\'s tokens when less than this is left of them.', '60s'),
  groups: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'Keep only these groups in the session (the ones policies use): an Entra ID user in hundreds of groups then still has a small cookie. Identity headers and assertions of session requests list only these. Default: every group of the ID token.' })),
  keepClaims: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'ID token claims kept in the session for policies (`claims:` rules) beyond the identity fields, `email` and `name`.' }),
  postLogoutRedirects: Type.Array(Type.String({ pattern: '^https?://' }), { default: [], description: 'Absolute URLs the provider may send the browser to after logout (`post_logout_redirect_uri`, registered at the provider); `/.gatehouse/logout?rd=` picks one, the first is the default.' }),
  allowedOrigins: Type.Array(Type.String({ pattern: '^https?://[^/?#]+$' }), { default: [], description: 'Origins besides the gateway\'s own that may send state-changing (POST, PUT, PATCH, DELETE) requests authenticated by the session cookie.' }),
  timeout: Duration('Time discovery and the token endpoint have to answer.', '10s'),
  redis: Type.Optional(Strict({
    url: Type.String({ minLength: 1, description: 'e.g. `redis://127.0.0.1:6379` or `${env:REDIS_URL}`.' }),
    prefix: Type.String({ default: 'gatehouse:', description: 'Key and channel prefix.' }),
    store: Type.Boolean({ default: false, description: 'Keep the sessions themselves in Redis (still sealed with `keys`): the cookie holds a random handle only, one small cookie however large the session; logout deletes it, ending the session on every replica. A session that cannot be looked up is refused (503 `session_store_unavailable`).' }),
  }, 'Share sessions\' state through Redis: back-channel logouts (every gateway process and replica refuses a revoked session, also those started later) and refreshes (one per session across the fleet). Without it both hold per process.')),
}, 'Browser sign-in for this provider: routes list `session:<provider>` among their authenticators (docs/browser-sso.md).');

export type LoginConfig = Static<typeof LoginSchema>;
