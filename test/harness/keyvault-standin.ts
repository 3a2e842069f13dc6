/**
 * Stand-ins for Azure Key Vault's secrets REST API and for the managed identity endpoint that gives
 * the gateway its token (cloud endpoints, so test doubles; the gateway reaches them through the real
 * `@azure/keyvault-secrets` and `@azure/identity` SDKs).
 *
 * - The vault (HTTPS, a certificate made in the test): `GET /secrets/{name}[/{version}]?api-version=…`
 *   answers `{ value, id, attributes }` like Key Vault. A request without a bearer token gets the
 *   401 challenge Key Vault sends (`WWW-Authenticate: Bearer authorization="…/{tenant}",
 *   resource="https://vault.azure.net"`), which is how the SDK learns the tenant and scope; a wrong
 *   token is refused with 401 too. `rotate()` adds a new version, which becomes the current one.
 * - The managed identity endpoint (the App Service / Container Apps shape: `IDENTITY_ENDPOINT`,
 *   `IDENTITY_HEADER`) issues an opaque token for `resource=https://vault.azure.net` only, and only
 *   with the right `X-IDENTITY-HEADER`. DefaultAzureCredential picks it up from those variables.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface KeyVaultStandIn {
  /** `https://localhost:PORT` (the certificate names localhost). */
  readonly url: string;
  /** Environment for the gateway process: the managed identity endpoint (and nothing else). */
  readonly identityEnv: Record<string, string>;
  /** Every vault request: the path, whether it carried the right token, the status returned. */
  readonly requests: { path: string; apiVersion: string | null; authorized: boolean; status: number }[];
  /** Tokens issued by the identity endpoint. */
  readonly tokensIssued: () => number;
  /** Set a secret (a new version, now current); returns the version id. */
  rotate(name: string, value: string): string;
  /** Make every read of `name` fail with 403 (access revoked) until `restore`. */
  forbid(name: string): void;
  restore(name: string): void;
  close(): Promise<void>;
}

const RESOURCE = 'https://vault.azure.net';

export async function startKeyVaultStandIn(tls: { certPem: string; keyPem: string }, tenant = randomUUID()): Promise<KeyVaultStandIn> {
  const token = randomBytes(24).toString('base64url');
  const identityHeader = randomBytes(12).toString('hex');
  let issued = 0;
  const secrets = new Map<string, { version: string; value: string }[]>();
  const forbidden = new Set<string>();
  const requests: KeyVaultStandIn['requests'] = [];

  const identity = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const json = (status: number, body: unknown): void => { res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)); };
    if (req.headers['x-identity-header'] !== identityHeader) return json(401, { error: 'invalid_request', error_description: 'missing or wrong X-IDENTITY-HEADER' });
    if (url.searchParams.get('resource') !== RESOURCE) return json(400, { error: 'invalid_resource', error_description: `no token for ${url.searchParams.get('resource')}` });
    issued++;
    const expiresOn = Math.floor(Date.now() / 1000) + 3600;
    json(200, { access_token: token, expires_on: String(expiresOn), resource: RESOURCE, token_type: 'Bearer', client_id: randomUUID() });
  });

  const vault = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const authorized = req.headers.authorization === `Bearer ${token}`;
    const entry = { path: url.pathname, apiVersion: url.searchParams.get('api-version'), authorized, status: 0 };
    requests.push(entry);
    const json = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      entry.status = status;
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
    };
    req.resume();
    if (!authorized) {
      return json(401, { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } }, {
        'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/${tenant}", resource="${RESOURCE}"`,
      });
    }
    if (entry.apiVersion === null) return json(400, { error: { code: 'MissingApiVersionParameter', message: 'The api-version query parameter is required.' } });
    const m = /^\/secrets\/([0-9A-Za-z-]+)(?:\/([0-9a-f]{32}))?\/?$/.exec(url.pathname);
    if (req.method !== 'GET' || !m) return json(400, { error: { code: 'BadParameter', message: 'unsupported request' } });
    const [, name, version] = m as unknown as [string, string, string | undefined];
    if (forbidden.has(name)) return json(403, { error: { code: 'Forbidden', message: 'The user, group or application does not have secrets get permission.' } });
    const versions = secrets.get(name) ?? [];
    const found = version === undefined ? versions.at(-1) : versions.find((v) => v.version === version);
    if (!found) return json(404, { error: { code: 'SecretNotFound', message: `A secret with (name/id) ${name}${version ? `/${version}` : ''} was not found in this key vault.` } });
    const now = Math.floor(Date.now() / 1000);
    json(200, {
      value: found.value,
      id: `https://localhost:${port}/secrets/${name}/${found.version}`,
      attributes: { enabled: true, created: now, updated: now, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 },
      tags: {},
    });
  });

  await new Promise<void>((resolve) => vault.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => identity.listen(0, '127.0.0.1', resolve));
  const port = (vault.address() as AddressInfo).port;
  const identityPort = (identity.address() as AddressInfo).port;
  const close = (server: http.Server): Promise<void> => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return {
    url: `https://localhost:${port}`,
    identityEnv: { IDENTITY_ENDPOINT: `http://127.0.0.1:${identityPort}/msi/token`, IDENTITY_HEADER: identityHeader },
    requests,
    tokensIssued: () => issued,
    rotate(name, value) {
      const version = randomBytes(16).toString('hex');
      secrets.set(name, [...(secrets.get(name) ?? []), { version, value }]);
      return version;
    },
    forbid: (name) => { forbidden.add(name); },
    restore: (name) => { forbidden.delete(name); },
    close: async () => { await close(vault); await close(identity); },
  };
}
