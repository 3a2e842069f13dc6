/**
 * A stand-in for an identity provider's signing keys, made at test time: an RS256 key pair whose
 * public half is served as a JWKS on 127.0.0.1, and tokens shaped like the ones each provider
 * documents (claims, header, issuer forms). Only where the keys are fetched from differs from the
 * real provider; the claims are the provider's.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';

export interface SigningKeys {
  readonly jwksUri: string;
  readonly kid: string;
  /** Sign `claims` as given (nothing is added); the header has alg RS256, kid and `header`. */
  sign(claims: JWTPayload, header?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export async function startSigningKeys(): Promise<SigningKeys> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `test-${randomUUID().slice(0, 8)}`;
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' }] });
  const server = createServer((req, res) => {
    if (req.url === '/keys') res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const key: CryptoKey = privateKey;
  return {
    jwksUri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/keys`,
    kid,
    sign: (claims, header = {}) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid, ...header }).sign(key),
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

const now = (): number => Math.floor(Date.now() / 1000);
const times = (ttl: number): { iat: number; nbf: number; exp: number } => { const t = now(); return { iat: t, nbf: t, exp: t + ttl }; };

/**
 * Microsoft Entra ID access tokens (learn.microsoft.com, "Access token claims reference"): v2.0 tokens
 * carry iss https://login.microsoftonline.com/{tid}/v2.0, aud = the API's client id, azp/azpacr; v1.0
 * tokens iss https://sts.windows.net/{tid}/, aud = the resource the client asked for (App ID URI or
 * client id), appid/appidacr, and x5t next to kid in the header. App-only tokens (client credentials,
 * managed identities) carry roles and idtyp "app", never scp.
 */
export const entra = {
  v2Issuer: (tid: string): string => `https://login.microsoftonline.com/${tid}/v2.0`,
  v1Issuer: (tid: string): string => `https://sts.windows.net/${tid}/`,

  /** A v2.0 app-only token (a managed identity or a daemon app). */
  v2App(o: { tid: string; aud: string; azp: string; oid: string; roles?: string[] }): JWTPayload {
    return {
      aud: o.aud, iss: entra.v2Issuer(o.tid), ...times(3600), aio: 'k2BgYDD7u5eUm9u2jXf4AQA=', azp: o.azp, azpacr: '2',
      idtyp: 'app', oid: o.oid, rh: '0.AXkAoBEJS5uSFUeUS8A3RRZbOitzdG5WvkNIn_TmajmbEuN5AAA.', ...(o.roles ? { roles: o.roles } : {}),
      sub: o.oid, tid: o.tid, uti: 'fqiBqXLPj0eQa82S-IYFAA', ver: '2.0',
    };
  },

  /** A v1.0 token of an Azure managed identity (Data Factory's, by xms_mirid). */
  v1ManagedIdentity(o: { tid: string; aud: string; appid: string; oid: string; roles?: string[] }): JWTPayload {
    const iss = entra.v1Issuer(o.tid);
    return {
      aud: o.aud, iss, ...times(86_400), aio: 'k2BgYDD7u5eUm9u2jXf4AQA=', appid: o.appid, appidacr: '2', idp: iss, idtyp: 'app',
      oid: o.oid, rh: '0.AXkAoBEJS5uSFUeUS8A3RRZbOgcAAAAAAAAAwAAAAAAAAAB5AAA.', ...(o.roles ? { roles: o.roles } : {}), sub: o.oid, tid: o.tid,
      uti: 'Xb3mQ0r7XkWq9sXb1Y0RAA', ver: '1.0',
      xms_mirid: '/subscriptions/0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9/resourcegroups/data/providers/Microsoft.DataFactory/factories/adf-prod',
    };
  },

  /** A v2.0 delegated (user) token; `acct` is the optional claim (0 member, 1 guest). */
  v2User(o: { tid: string; aud: string; oid: string; scp: string; roles?: string[]; acct?: number }): JWTPayload {
    return {
      aud: o.aud, iss: entra.v2Issuer(o.tid), ...times(3600), aio: 'AVQAq/8TAAAA', azp: '0c1a6e0b-7f37-4e8a-9b1d-2f5d7c3a9e10', azpacr: '0',
      name: 'Guest Example', oid: o.oid, preferred_username: 'guest@partner.example', rh: '0.AXkA.', scp: o.scp,
      ...(o.roles ? { roles: o.roles } : {}), ...(o.acct !== undefined ? { acct: o.acct } : {}),
      sub: 'Qx8bJ3kQ2_pairwise_RgT1Vf9sE', tid: o.tid, uti: 'Yb2cQ0r7', ver: '2.0',
    };
  },
};

/** Okta custom authorization server access tokens (developer.okta.com, "Access token" claims). */
export const okta = {
  user(o: { iss: string; aud: string; cid: string; uid: string; login: string; scp: string[] }): JWTPayload {
    const t = times(3600);
    return { ver: 1, jti: `AT.${randomUUID()}`, iss: o.iss, aud: o.aud, iat: t.iat, exp: t.exp, cid: o.cid, uid: o.uid, scp: o.scp, auth_time: t.iat - 60, sub: o.login };
  },
  /** Client credentials: no uid, sub is the client id. */
  client(o: { iss: string; aud: string; cid: string; scp: string[] }): JWTPayload {
    const t = times(3600);
    return { ver: 1, jti: `AT.${randomUUID()}`, iss: o.iss, aud: o.aud, iat: t.iat, exp: t.exp, cid: o.cid, scp: o.scp, sub: o.cid };
  },
};

/** Amazon Cognito user pool tokens (docs.aws.amazon.com, "Understanding user pool JSON web tokens"). */
export const cognito = {
  /** An access token: no aud; client_id, token_use "access", cognito:groups, space-separated scope. */
  access(o: { iss: string; clientId: string; sub: string; groups?: string[]; scope: string; username?: string }): JWTPayload {
    const t = times(3600);
    return {
      sub: o.sub, ...(o.groups ? { 'cognito:groups': o.groups } : {}), iss: o.iss, version: 2, client_id: o.clientId,
      origin_jti: randomUUID(), event_id: randomUUID(), token_use: 'access', scope: o.scope, auth_time: t.iat, exp: t.exp, iat: t.iat,
      jti: randomUUID(), ...(o.username ? { username: o.username } : {}),
    };
  },
  /** An ID token: aud is the app client id, token_use "id". */
  id(o: { iss: string; clientId: string; sub: string; groups?: string[]; email: string }): JWTPayload {
    const t = times(3600);
    return {
      at_hash: 'L5u5vQk3d1c8cI1vWk3Tgg', sub: o.sub, ...(o.groups ? { 'cognito:groups': o.groups } : {}), email_verified: true, iss: o.iss,
      'cognito:username': 'alice', origin_jti: randomUUID(), aud: o.clientId, event_id: randomUUID(), token_use: 'id', auth_time: t.iat,
      exp: t.exp, iat: t.iat, jti: randomUUID(), email: o.email,
    };
  },
};

/** Auth0 access tokens (auth0.com/docs, "Access token profiles"; RBAC permissions; M2M gty). */
export const auth0 = {
  user(o: { iss: string; aud: string[]; azp: string; sub: string; scope: string; permissions: string[]; extra?: JWTPayload }): JWTPayload {
    const t = times(86_400);
    return { iss: o.iss, sub: o.sub, aud: o.aud, iat: t.iat, exp: t.exp, scope: o.scope, azp: o.azp, permissions: o.permissions, ...o.extra };
  },
  machine(o: { iss: string; aud: string; clientId: string; scope: string; permissions: string[] }): JWTPayload {
    const t = times(86_400);
    return { iss: o.iss, sub: `${o.clientId}@clients`, aud: o.aud, iat: t.iat, exp: t.exp, scope: o.scope, gty: 'client-credentials', azp: o.clientId, permissions: o.permissions };
  },
};

/** Keycloak tokens (typ in the payload: Bearer, ID, Refresh; realm_access and resource_access roles). */
export const keycloak = {
  token(o: {
    iss: string; typ: 'Bearer' | 'ID'; aud: string | string[]; azp: string; sub: string;
    realmRoles: string[]; clientRoles: Record<string, string[]>;
  }): JWTPayload {
    const t = times(300);
    return {
      exp: t.exp, iat: t.iat, auth_time: t.iat, jti: randomUUID(), iss: o.iss, aud: o.aud, sub: o.sub, typ: o.typ, azp: o.azp,
      sid: randomUUID(), acr: '1', 'allowed-origins': ['https://orders.example.com'],
      realm_access: { roles: o.realmRoles },
      resource_access: Object.fromEntries(Object.entries(o.clientRoles).map(([client, roles]) => [client, { roles }])),
      scope: 'openid profile email', email_verified: true, preferred_username: 'alice',
    };
  },
};

/** Google ID tokens (developers.google.com/identity, "ID token" claims; metadata-server identity tokens). */
export const google = {
  user(o: { iss?: string; aud: string; sub: string; email: string; hd?: string; emailVerified?: boolean | string }): JWTPayload {
    const t = times(3600);
    return {
      iss: o.iss ?? 'https://accounts.google.com', azp: o.aud, aud: o.aud, sub: o.sub, ...(o.hd ? { hd: o.hd } : {}), email: o.email,
      email_verified: o.emailVerified ?? true, at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q', name: 'Alice Example', given_name: 'Alice',
      family_name: 'Example', iat: t.iat, exp: t.exp,
    };
  },
  /** What a service account gets from the metadata server for `audience=<aud>`. */
  serviceAccount(o: { aud: string; email: string; sub: string }): JWTPayload {
    const t = times(3600);
    return { aud: o.aud, azp: o.sub, email: o.email, email_verified: true, exp: t.exp, iat: t.iat, iss: 'https://accounts.google.com', sub: o.sub };
  },
};
