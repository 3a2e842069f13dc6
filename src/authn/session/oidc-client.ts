/**
 * The relying party's protocol work, all of it through openid-client: discovery, the authorization
 * URL (code + PKCE S256, state, nonce), the code exchange with its state/nonce/ID token checks, the
 * refresh grant and the end-session URL. Nothing here parses or verifies a token by hand.
 */
import * as oidc from 'openid-client';
import { loadClientKey } from '../../outbound/credentials/oauth2/client-key.js';
import type { LoginConfig } from './schema.js';

/** What a completed code exchange or refresh gives. */
export interface TokenSet {
  /** Validated ID token claims (absent on a refresh that returned no new ID token). */
  readonly claims: Record<string, unknown> | undefined;
  readonly idToken: string | undefined;
  readonly refreshToken: string | undefined;
  /** Epoch seconds at which the access token expires, when the provider said. */
  readonly expiresAt: number | undefined;
}

/** One provider's client. */
export interface RelyingParty {
  /** Discovery done (until then the other methods reject). */
  readonly ready: boolean;
  start(): Promise<void>;
  /** The authorization URL for a new sign-in. */
  authorizationUrl(p: { redirectUri: string; state: string; nonce: string; codeChallenge: string }): Promise<URL>;
  /** Exchange the code of `callbackUrl` (state, nonce and PKCE verifier checked by openid-client). */
  /** `callbackUrl` is the redirect URI with the provider's query (its path and origin are the redirect_uri sent). */
  exchange(callbackUrl: URL, checks: { state: string; nonce: string; verifier: string }): Promise<TokenSet>;
  refresh(refreshToken: string): Promise<TokenSet>;
  /** The provider's `jwks_uri` (back-channel logout tokens are verified with its keys). */
  jwksUri(): Promise<string | undefined>;
  /** RP-initiated logout URL, or undefined when the provider has no `end_session_endpoint`. */
  endSessionUrl(p: { idTokenHint?: string | undefined; postLogoutRedirectUri?: string | undefined }): Promise<URL | undefined>;
}

const LOOPBACK = /^(127(\.\d{1,3}){3}|localhost|\[::1\])$/i;

/** The client settings a relying party uses (a provider's `login` block, or the dashboard's `sso`). */
export type ClientSettings = Pick<LoginConfig, 'clientId' | 'clientSecret' | 'clientAuth' | 'privateKey' | 'keyId' | 'scopes' | 'prompt'>;

/** How the gateway authenticates at the token endpoint (the key of `private_key_jwt` is imported once). */
async function clientAuth(login: ClientSettings): Promise<oidc.ClientAuth> {
  if (login.clientAuth === 'private_key_jwt') {
    if (login.privateKey === undefined) throw new Error('login: private_key_jwt needs privateKey');
    return oidc.PrivateKeyJwt(await loadClientKey(login.privateKey, login.keyId));
  }
  const secret = login.clientSecret;
  if (secret === undefined) throw new Error('login: client_secret_basic and client_secret_post need clientSecret');
  return login.clientAuth === 'client_secret_post' ? oidc.ClientSecretPost(secret) : oidc.ClientSecretBasic(secret);
}

function tokenSet(t: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers): TokenSet {
  const expiresIn = t.expiresIn();
  return {
    claims: t.claims() as Record<string, unknown> | undefined,
    idToken: t.id_token,
    refreshToken: t.refresh_token,
    expiresAt: expiresIn === undefined ? undefined : Math.floor(Date.now() / 1000) + expiresIn,
  };
}

/** A relying party for `issuer` with the client of a `login` block (or of the dashboard's `sso`). */
export function createRelyingParty(issuer: string, login: ClientSettings, timeoutMs: number): RelyingParty {
  let config: oidc.Configuration | undefined;
  let discovering: Promise<oidc.Configuration> | undefined;
  const url = new URL(issuer);
  // Plain HTTP only to this machine (tests, a sidecar IdP); the schema's checks say the same.
  const insecure = url.protocol === 'http:' && LOOPBACK.test(url.hostname);

  function discover(): Promise<oidc.Configuration> {
    if (config !== undefined) return Promise.resolve(config);
    discovering ??= clientAuth(login).then((auth) => oidc.discovery(url, login.clientId, undefined, auth, {
      timeout: Math.ceil(timeoutMs / 1000),
      ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
    })).then((c) => {
      // Verify ID token signatures against the provider's JWKS too, not only TLS (non-repudiation).
      oidc.enableNonRepudiationChecks(c);
      config = c;
      return c;
    }, (err: unknown) => {
      discovering = undefined;
      throw err;
    });
    return discovering;
  }

  return {
    get ready() { return config !== undefined; },
    start: async () => { await discover(); },
    async authorizationUrl(p) {
      const c = await discover();
      return oidc.buildAuthorizationUrl(c, {
        redirect_uri: p.redirectUri, scope: login.scopes.join(' '), state: p.state, nonce: p.nonce,
        code_challenge: p.codeChallenge, code_challenge_method: 'S256', response_type: 'code',
        ...(login.prompt !== undefined ? { prompt: login.prompt } : {}),
      });
    },
    async exchange(callbackUrl, checks) {
      const c = await discover();
      const t = await oidc.authorizationCodeGrant(c, callbackUrl, {
        pkceCodeVerifier: checks.verifier, expectedState: checks.state, expectedNonce: checks.nonce, idTokenExpected: true,
      });
      return tokenSet(t);
    },
    async refresh(refreshToken) {
      return tokenSet(await oidc.refreshTokenGrant(await discover(), refreshToken));
    },
    jwksUri: async () => (await discover()).serverMetadata().jwks_uri,
    async endSessionUrl(p) {
      const c = await discover();
      if (c.serverMetadata().end_session_endpoint === undefined) return undefined;
      return oidc.buildEndSessionUrl(c, {
        ...(p.idTokenHint !== undefined ? { id_token_hint: p.idTokenHint } : { client_id: login.clientId }),
        ...(p.postLogoutRedirectUri !== undefined ? { post_logout_redirect_uri: p.postLogoutRedirectUri } : {}),
      });
    },
  };
}
