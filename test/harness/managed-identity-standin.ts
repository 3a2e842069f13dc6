/**
 * A stand-in for an Azure managed identity endpoint in the App Service / Container Apps shape
 * (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`), which `@azure/identity`'s DefaultAzureCredential and
 * ManagedIdentityCredential read from the environment. It issues an opaque token per client id
 * (the system-assigned identity when none is asked for), only for `resource` and only with the
 * right `X-IDENTITY-HEADER`.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ManagedIdentityStandIn {
  /** Environment for the process that uses the identity. */
  readonly env: Record<string, string>;
  /** The token issued to `clientId` (default: the system-assigned identity). */
  tokenFor(clientId?: string): string;
  /** Token requests so far: the client id asked for and the resource. */
  readonly requests: { clientId: string | undefined; resource: string | null }[];
  close(): Promise<void>;
}

/** `unknown`: client ids the endpoint has no identity for (it answers 400, as Azure does). */
export async function startManagedIdentityStandIn(resource: string, unknown: readonly string[] = []): Promise<ManagedIdentityStandIn> {
  const header = randomBytes(12).toString('hex');
  const tokens = new Map<string, string>();
  const tokenFor = (clientId = 'system'): string => {
    let token = tokens.get(clientId);
    if (token === undefined) tokens.set(clientId, (token = randomBytes(24).toString('base64url')));
    return token;
  };
  const requests: ManagedIdentityStandIn['requests'] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const json = (status: number, body: unknown): void => { res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)); };
    const clientId = url.searchParams.get('client_id') ?? undefined;
    const asked = url.searchParams.get('resource');
    requests.push({ clientId, resource: asked });
    if (req.headers['x-identity-header'] !== header) return json(401, { error: 'invalid_request', error_description: 'missing or wrong X-IDENTITY-HEADER' });
    if (clientId !== undefined && unknown.includes(clientId)) return json(400, { error: 'invalid_request', error_description: 'Identity not found' });
    if (asked === null || asked.replace(/\/+$/, '') !== resource) return json(400, { error: 'invalid_resource', error_description: `no token for ${asked}` });
    json(200, { access_token: tokenFor(clientId), expires_on: String(Math.floor(Date.now() / 1000) + 3600), resource: asked, token_type: 'Bearer', client_id: clientId ?? 'system' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    env: { IDENTITY_ENDPOINT: `http://127.0.0.1:${port}/msi/token`, IDENTITY_HEADER: header },
    tokenFor,
    requests,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
