/**
 * Stand-ins for AWS (cloud endpoints, so test doubles), driven by the real AWS SDK from the gateway:
 *  - STS: the Query API's AssumeRoleWithWebIdentity (form POST, XML answer), as @aws-sdk/client-sts
 *    speaks it. It verifies the web identity token with jose at the trusted issuer's JWKS (issuer and
 *    audience, as an IAM OIDC identity provider does), checks the session name and the inline policy,
 *    and issues temporary credentials with an Expiration.
 *  - A SigV4 backend that verifies every request with Gatehouse's own inbound SigV4 verifier
 *    (src/authn/sigv4/) against the keys it knows: static ones, and each set STS issued, with its
 *    session token and expiry.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { buildSigV4Authenticator } from '../../src/authn/sigv4/sigv4.js';
import { KeyStore } from '../../src/authn/sigv4/keys.js';

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const closeServer = (server: Server): Promise<void> => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
const readAll = (req: IncomingMessage): Promise<Buffer> => new Promise((resolve, reject) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => resolve(Buffer.concat(chunks)));
  req.on('error', reject);
});
const xml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** An IAM OIDC identity provider and the role that trusts it. */
export interface TrustedIssuer {
  readonly issuer: string;
  readonly audience: string;
  /** The issuer's JWKS: its URL, or the set itself. */
  readonly jwks: string | JSONWebKeySet;
}

export interface StsCall {
  readonly roleArn: string;
  readonly sessionName: string;
  readonly policy: string | undefined;
  readonly durationSeconds: number | undefined;
  /** `sub` and `jti` of the verified web identity token. */
  readonly sub?: string | undefined;
  readonly jti?: string | undefined;
  readonly status: number;
  readonly error?: string | undefined;
}

export interface IssuedKeys { accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: Date; arn: string }

export interface StsStandIn {
  readonly url: string;
  readonly calls: StsCall[];
  /** Lifetime of the credentials issued from now on. */
  ttlSeconds: number;
  /** Answer every call with this STS error (`{ status, code }`), or normally (undefined). */
  failWith: { status: number; code: string } | undefined;
  close(): Promise<void>;
}

const ACCOUNT = '123456789012';

export async function startStsStandIn(opts: { roles: Record<string, TrustedIssuer>; onIssue?: (keys: IssuedKeys) => Promise<void> }): Promise<StsStandIn> {
  const calls: StsCall[] = [];
  const keysets = new Map<string, ReturnType<typeof createRemoteJWKSet> | ReturnType<typeof createLocalJWKSet>>();
  const roleIds = new Map<string, string>();
  const state = { ttlSeconds: 3600, failWith: undefined as StsStandIn['failWith'] };
  const error = (status: number, code: string, message: string): [number, string] => [status,
    `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`];

  const handle = async (form: URLSearchParams): Promise<[number, string, { sub?: string; jti?: string }]> => {
    const roleArn = form.get('RoleArn') ?? '';
    const sessionName = form.get('RoleSessionName') ?? '';
    const info: { sub?: string; jti?: string } = {};
    if (form.get('Action') !== 'AssumeRoleWithWebIdentity' || form.get('Version') !== '2011-06-15') return [...error(400, 'InvalidAction', 'unsupported action'), info];
    if (state.failWith) return [...error(state.failWith.status, state.failWith.code, 'failing on purpose'), info];
    const trust = opts.roles[roleArn];
    if (trust === undefined) return [...error(403, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity'), info];
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) return [...error(400, 'ValidationError', 'RoleSessionName does not satisfy the constraint'), info];
    const policy = form.get('Policy');
    if (policy !== null) {
      try { JSON.parse(policy); } catch { return [...error(400, 'MalformedPolicyDocument', 'the policy is not JSON'), info]; }
    }
    let keyset = keysets.get(roleArn);
    if (keyset === undefined) {
      keyset = typeof trust.jwks === 'string' ? createRemoteJWKSet(new URL(trust.jwks)) : createLocalJWKSet(trust.jwks);
      keysets.set(roleArn, keyset);
    }
    let claims;
    try {
      ({ payload: claims } = await jwtVerify(form.get('WebIdentityToken') ?? '', keyset, { issuer: trust.issuer, audience: trust.audience }));
    } catch (err) {
      return [...error(400, 'InvalidIdentityToken', `the token could not be verified (${(err as Error).name})`), info];
    }
    if (claims.sub !== undefined) info.sub = claims.sub;
    if (claims.jti !== undefined) info.jti = claims.jti;
    const roleName = roleArn.slice(roleArn.lastIndexOf('/') + 1);
    let roleId = roleIds.get(roleArn);
    if (roleId === undefined) roleIds.set(roleArn, (roleId = `AROA${randomBytes(8).toString('hex').toUpperCase()}`));
    const issued: IssuedKeys = {
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: `IQoJb3JpZ2luX2Vj${randomBytes(48).toString('base64')}`, expiration: new Date(Date.now() + state.ttlSeconds * 1000),
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${roleName}/${sessionName}`,
    };
    await opts.onIssue?.(issued);
    return [200, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>
<SubjectFromWebIdentityToken>${xml(claims.sub ?? '')}</SubjectFromWebIdentityToken><Audience>${xml(trust.audience)}</Audience>
<AssumedRoleUser><Arn>${issued.arn}</Arn><AssumedRoleId>${roleId}:${sessionName}</AssumedRoleId></AssumedRoleUser>
<Credentials><SessionToken>${xml(issued.sessionToken)}</SessionToken><SecretAccessKey>${xml(issued.secretAccessKey)}</SecretAccessKey>
<Expiration>${issued.expiration.toISOString()}</Expiration><AccessKeyId>${issued.accessKeyId}</AccessKeyId></Credentials>
<Provider>${xml(trust.issuer)}</Provider></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`, info];
  };

  const server = createServer((req, res) => {
    void readAll(req).then(async (body) => {
      const form = new URLSearchParams(body.toString('utf8'));
      const [status, text, info] = await handle(form);
      const duration = form.get('DurationSeconds');
      calls.push({
        roleArn: form.get('RoleArn') ?? '', sessionName: form.get('RoleSessionName') ?? '', policy: form.get('Policy') ?? undefined,
        durationSeconds: duration === null ? undefined : Number(duration), ...info, status, error: status === 200 ? undefined : /<Code>(\w+)</.exec(text)?.[1],
      });
      res.writeHead(status, { 'content-type': 'text/xml' }).end(text);
    });
  });
  const url = await listen(server);
  return {
    url, calls,
    get ttlSeconds() { return state.ttlSeconds; },
    set ttlSeconds(v) { state.ttlSeconds = v; },
    get failWith() { return state.failWith; },
    set failWith(v) { state.failWith = v; },
    close: () => closeServer(server),
  };
}

/** What the SigV4 backend saw of one request. */
export interface BackendRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
  /** The verifier's verdict: the signer's principal, or the refusal code. */
  readonly principal?: string | undefined;
  readonly refused?: string | undefined;
}

export interface SigV4Backend {
  readonly url: string;
  readonly requests: BackendRequest[];
  /** Trust a key (static, or issued by STS); resolves once the verifier has it. */
  addKey(accessKeyId: string, key: { secret: string; principal: string; sessionToken?: string; expiresAt?: string }): Promise<void>;
  close(): Promise<void>;
}

/** An AWS-style backend for `service` in `region`: 200 with what it verified, 403 with the refusal code otherwise. */
export async function startSigV4Backend(service: string, region: string): Promise<SigV4Backend> {
  const dir = mkdtempSync(join(tmpdir(), 'sigv4-backend-'));
  const file = join(dir, 'keys.json');
  const keys: Record<string, Record<string, string>> = {};
  writeFileSync(file, '{}');
  const store = new KeyStore('aws-backend', file);
  await store.start();
  const verifier = buildSigV4Authenticator('aws-backend', { service, region, clockSkewMs: 5 * 60_000, allowUnsignedPayload: true, keys: store });
  const requests: BackendRequest[] = [];
  let updating: Promise<void> = Promise.resolve();
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    let body: Promise<Buffer> | undefined;
    const readBody = (): Promise<Buffer> => (body ??= readAll(req));
    void verifier.authenticate({
      method: req.method ?? 'GET', path: q === -1 ? url : url.slice(0, q), rawPath: q === -1 ? url : url.slice(0, q), query: q === -1 ? '' : url.slice(q + 1),
      headers: req.headers, rawHeaders: req.rawHeaders, readBody,
    }).then(async (result) => {
      const outcome = result === 'absent' ? { ok: false as const, refusal: { code: 'token_missing' } } : result;
      const bytes = await readBody();
      const principal = outcome.ok ? outcome.identity.subject : undefined;
      const refused = outcome.ok ? undefined : outcome.refusal.code;
      requests.push({ method: req.method ?? '', url, headers: req.headers, body: bytes, principal, refused });
      res.writeHead(outcome.ok ? 200 : 403, { 'content-type': 'application/json' })
        .end(JSON.stringify({ principal, refused, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length }));
    });
  });
  const url = await listen(server);
  return {
    url, requests,
    addKey(accessKeyId, key) {
      keys[accessKeyId] = { ...key };
      // One write at a time, each whole (renamed into place): the store's watcher never reads half a file.
      updating = updating.then(async () => {
        writeFileSync(`${file}.next`, JSON.stringify(keys));
        renameSync(`${file}.next`, file);
        if (!(await store.reload())) throw new Error(`backend key file: ${store.lastError ?? 'not loaded'}`);
      });
      return updating;
    },
    async close() { store.close(); await closeServer(server); },
  };
}
