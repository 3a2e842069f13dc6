/**
 * A stand-in for the Microsoft identity platform's v2.0 token endpoint (a cloud endpoint, so a test
 * double: oidc-provider cannot accept an assertion from another issuer as client authentication).
 * It does what Entra does for the client credentials grant: a `client_secret`, or a federated
 * `client_assertion` (workload identity federation) verified with jose at the trusted issuer's JWKS
 * with the federated credential's issuer, subject and audience (`api://AzureADTokenExchange`), or a
 * certificate credential's assertion (the certificate picked by the `x5t#S256`/`x5t` header, signed
 * by its key, iss = sub = the client id, aud = the token endpoint); the
 * scope `<resource>/.default` names the token's audience. Tokens are RS256 JWTs of its own key,
 * published at `jwksUri`.
 */
import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';

/** A federated identity credential of an app registration. */
export interface FederatedCredential {
  readonly clientId: string;
  readonly issuer: string;
  readonly jwksUri: string;
  readonly subject: string;
  readonly audience?: string;
}

export interface EntraStandIn {
  readonly url: string;
  readonly jwksUri: string;
  tokenUrl(tenant: string): string;
  /** `iss` of the tokens issued for `tenant`. */
  issuer(tenant: string): string;
  /** Each token request: the client, the assertion's jti (when one was sent) and the outcome. */
  readonly requests: { clientId: string; assertionJti?: string | undefined; status: number }[];
  close(): Promise<void>;
}

const read = (req: IncomingMessage): Promise<URLSearchParams> => new Promise((resolve, reject) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
  req.on('error', reject);
});

/** Client id → client secret, federated credential or certificate (PEM) of an app registration. */
export interface StandInApps {
  federated?: FederatedCredential[];
  secrets?: Record<string, string>;
  certificates?: Record<string, string>;
  ttl?: number;
}

/** A certificate credential's assertion: the certificate its header names, its signature, its claims. */
async function certificateAssertion(assertion: string, pem: string, clientId: string, audience: string): Promise<string | undefined> {
  const cert = new X509Certificate(pem);
  const header = decodeProtectedHeader(assertion);
  const s256 = createHash('sha256').update(cert.raw).digest('base64url');
  const s1 = createHash('sha1').update(cert.raw).digest('base64url');
  if (header['x5t#S256'] !== s256 && header.x5t !== s1) return 'AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.';
  try {
    await jwtVerify(assertion, cert.publicKey, { issuer: clientId, subject: clientId, audience, algorithms: ['RS256', 'PS256'] });
    return undefined;
  } catch {
    return 'AADSTS700027: Client assertion failed signature validation.';
  }
}

export async function startEntraStandIn(opts: StandInApps): Promise<EntraStandIn> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const kid = `standin-${randomUUID().slice(0, 8)}`;
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' }] });
  const requests: EntraStandIn['requests'] = [];
  const keysets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  let base = '';

  const authenticate = async (form: URLSearchParams, clientId: string, tenant: string): Promise<string | undefined> => {
    const assertion = form.get('client_assertion');
    if (assertion !== null) {
      if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return 'AADSTS700023: unsupported client_assertion_type';
      const certificate = opts.certificates?.[clientId];
      const header = decodeProtectedHeader(assertion);
      if (certificate !== undefined && (header.x5t !== undefined || header['x5t#S256'] !== undefined)) return certificateAssertion(assertion, certificate, clientId, `${base}/${tenant}/oauth2/v2.0/token`);
      const fic = (opts.federated ?? []).find((f) => f.clientId === clientId);
      if (fic === undefined) return 'AADSTS70021: No matching federated identity record found for presented assertion.';
      let keys = keysets.get(fic.jwksUri);
      if (keys === undefined) keysets.set(fic.jwksUri, (keys = createRemoteJWKSet(new URL(fic.jwksUri))));
      try {
        await jwtVerify(assertion, keys, { issuer: fic.issuer, subject: fic.subject, audience: fic.audience ?? 'api://AzureADTokenExchange' });
        return undefined;
      } catch {
        return 'AADSTS700213: No matching federated identity record found for presented assertion subject.';
      }
    }
    const secret = opts.secrets?.[clientId];
    return secret !== undefined && form.get('client_secret') === secret ? undefined : 'AADSTS7000215: Invalid client secret provided.';
  };

  const server = createServer((req, res) => {
    const json = (status: number, body: unknown): void => { res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body)); };
    if (req.method === 'GET' && req.url === '/discovery/v2.0/keys') return void res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
    const tenant = /^\/([\w-]+)\/oauth2\/v2\.0\/token$/.exec(req.url ?? '')?.[1];
    if (req.method !== 'POST' || tenant === undefined) return json(404, { error: 'not_found' });
    void read(req).then(async (form) => {
      const clientId = form.get('client_id') ?? '';
      const assertion = form.get('client_assertion');
      const entry: EntraStandIn['requests'][number] = { clientId, assertionJti: assertion ? String(decodeJwt(assertion).jti) : undefined, status: 200 };
      requests.push(entry);
      const fail = (status: number, error: string, description: string): void => { entry.status = status; json(status, { error, error_description: description }); };
      if (form.get('grant_type') !== 'client_credentials') return fail(400, 'unsupported_grant_type', 'AADSTS70003: unsupported grant type');
      const refused = await authenticate(form, clientId, tenant);
      if (refused !== undefined) return fail(401, 'invalid_client', refused);
      const resource = /^(.+)\/\.default$/.exec(form.get('scope') ?? '')?.[1];
      if (resource === undefined) return fail(400, 'invalid_scope', 'AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.');
      const ttl = opts.ttl ?? 3599;
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ aud: resource, azp: clientId, azpacr: form.has('client_assertion') ? '2' : '1', idtyp: 'app', oid: clientId, tid: tenant, ver: '2.0', roles: ['Backend.Call'] })
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).setIssuer(`${base}/${tenant}/v2.0`).setSubject(clientId)
        .setIssuedAt(now).setNotBefore(now).setExpirationTime(now + ttl).sign(privateKey);
      json(200, { token_type: 'Bearer', expires_in: ttl, ext_expires_in: ttl, access_token: token });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    jwksUri: `${base}/discovery/v2.0/keys`,
    tokenUrl: (tenant) => `${base}/${tenant}/oauth2/v2.0/token`,
    issuer: (tenant) => `${base}/${tenant}/v2.0`,
    requests,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
