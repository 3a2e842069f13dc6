/**
 * Stand-ins for AWS (cloud endpoints, so test doubles), driven by the real AWS SDK from the gateway:
 *  - STS: the Query API's AssumeRoleWithWebIdentity (form POST, XML answer), as @aws-sdk/client-sts
 *    speaks it. It verifies the web identity token with jose at the trusted issuer's JWKS (issuer and
 *    audience, as an IAM OIDC identity provider does), checks the session name and the inline policy,
 *    and issues temporary credentials with an Expiration. And AssumeRole (role chaining): the call
 *    must be SigV4-signed with keys this stand-in issued (recomputed with @smithy/signature-v4, as STS
 *    refuses others with InvalidClientTokenId / SignatureDoesNotMatch), by a role allowed to assume
 *    the target; it records the session tags.
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
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { buildSigV4Authenticator } from '../../src/authn/sigv4/sigv4.js';
import { KeyStore } from '../../src/authn/sigv4/keys.js';

export const listen = async (server: Server, port = 0): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
export const closeServer = (server: Server): Promise<void> => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
export const readAll = (req: IncomingMessage): Promise<Buffer> => new Promise((resolve, reject) => {
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
  readonly action: string;
  readonly roleArn: string;
  readonly sessionName: string;
  readonly policy: string | undefined;
  readonly durationSeconds: number | undefined;
  /** `sub` and `jti` of the verified web identity token. */
  readonly sub?: string | undefined;
  readonly jti?: string | undefined;
  /** AssumeRole: the session tags, transitive keys, and the role whose keys signed the call. */
  readonly tags?: Record<string, string> | undefined;
  readonly transitiveTagKeys?: string[] | undefined;
  readonly signedBy?: string | undefined;
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

/** The form's `Name.member.N` list (AWS Query API). */
const members = (form: URLSearchParams, name: string): string[] => {
  const out: string[] = [];
  for (let i = 1; form.has(`${name}.member.${i}`) || form.has(`${name}.member.${i}.Key`); i++) out.push(form.get(`${name}.member.${i}`) ?? String(i));
  return out;
};

/** `chains`: target role → the roles whose sessions may sts:AssumeRole (and sts:TagSession) it. */
export async function startStsStandIn(opts: { roles: Record<string, TrustedIssuer>; chains?: Record<string, string[]>; onIssue?: (keys: IssuedKeys) => Promise<void> }): Promise<StsStandIn> {
  const calls: StsCall[] = [];
  const issuedKeys = new Map<string, IssuedKeys & { roleArn: string }>();
  const keysets = new Map<string, ReturnType<typeof createRemoteJWKSet> | ReturnType<typeof createLocalJWKSet>>();
  const roleIds = new Map<string, string>();
  const state = { ttlSeconds: 3600, failWith: undefined as StsStandIn['failWith'] };
  const error = (status: number, code: string, message: string): [number, string] => [status,
    `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`];

  const issue = async (roleArn: string, sessionName: string): Promise<[IssuedKeys, string]> => {
    const roleName = roleArn.slice(roleArn.lastIndexOf('/') + 1);
    let roleId = roleIds.get(roleArn);
    if (roleId === undefined) roleIds.set(roleArn, (roleId = `AROA${randomBytes(8).toString('hex').toUpperCase()}`));
    const issued: IssuedKeys = {
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: `IQoJb3JpZ2luX2Vj${randomBytes(48).toString('base64')}`, expiration: new Date(Date.now() + state.ttlSeconds * 1000),
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${roleName}/${sessionName}`,
    };
    issuedKeys.set(issued.accessKeyId, { ...issued, roleArn });
    await opts.onIssue?.(issued);
    return [issued, `<AssumedRoleUser><Arn>${issued.arn}</Arn><AssumedRoleId>${roleId}:${sessionName}</AssumedRoleId></AssumedRoleUser>
<Credentials><SessionToken>${xml(issued.sessionToken)}</SessionToken><SecretAccessKey>${xml(issued.secretAccessKey)}</SecretAccessKey>
<Expiration>${issued.expiration.toISOString()}</Expiration><AccessKeyId>${issued.accessKeyId}</AccessKeyId></Credentials>`];
  };

  /** The role whose issued keys signed `req` (SigV4 recomputed over the signed headers), or an STS error. */
  const verifySignature = async (req: IncomingMessage, body: Buffer): Promise<string | [number, string]> => {
    const m = /^AWS4-HMAC-SHA256 Credential=(\w+)\/(\d{8})\/([\w-]+)\/sts\/aws4_request, ?SignedHeaders=([\w;-]+), ?Signature=([0-9a-f]{64})$/.exec(String(req.headers.authorization ?? ''));
    if (m === null) return error(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
    const keys = issuedKeys.get(m[1]!);
    if (keys === undefined || req.headers['x-amz-security-token'] !== keys.sessionToken) return error(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
    if (keys.expiration.getTime() <= Date.now()) return error(400, 'ExpiredToken', 'The security token included in the request is expired');
    const amzDate = String(req.headers['x-amz-date'] ?? '');
    const signingDate = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
    const headers: Record<string, string> = {};
    for (const name of m[4]!.split(';')) headers[name] = String(req.headers[name] ?? '');
    const signer = new SignatureV4({ service: 'sts', region: m[3]!, sha256: Hash.bind(null, 'sha256'), applyChecksum: false, credentials: { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey, sessionToken: keys.sessionToken } });
    const url = new URL(req.url ?? '/', 'http://sts');
    const signed = await signer.sign({ method: req.method ?? 'POST', protocol: 'http:', hostname: url.hostname, path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body }, { signingDate });
    const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1];
    if (Number.isNaN(signingDate.getTime()) || expected !== m[5]) return error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    return keys.roleArn;
  };

  const assumeRole = async (form: URLSearchParams, req: IncomingMessage, body: Buffer, info: { signedBy?: string }): Promise<[number, string]> => {
    const verdict = await verifySignature(req, body);
    if (typeof verdict !== 'string') return verdict;
    info.signedBy = verdict;
    if (state.failWith) return error(state.failWith.status, state.failWith.code, 'failing on purpose');
    const roleArn = form.get('RoleArn') ?? '';
    const sessionName = form.get('RoleSessionName') ?? '';
    if (!(opts.chains?.[roleArn] ?? []).includes(verdict)) return error(403, 'AccessDenied', 'Not authorized to perform sts:AssumeRole');
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) return error(400, 'ValidationError', 'RoleSessionName does not satisfy the constraint');
    const tags = members(form, 'Tags').map((_, i) => [form.get(`Tags.member.${i + 1}.Key`) ?? '', form.get(`Tags.member.${i + 1}.Value`) ?? '']);
    if (tags.length > 50 || tags.some(([k, v]) => !/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u.test(k!) || !/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u.test(v!))) {
      return error(400, 'ValidationError', 'Tags do not satisfy the constraint');
    }
    if (Number(form.get('DurationSeconds') ?? 3600) > 3600) return error(400, 'ValidationError', 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.');
    const [, user] = await issue(roleArn, sessionName);
    return [200, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>${user}<PackedPolicySize>${tags.length}</PackedPolicySize></AssumeRoleResult>
<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></AssumeRoleResponse>`];
  };

  const handle = async (form: URLSearchParams, req: IncomingMessage, body: Buffer): Promise<[number, string, { sub?: string; jti?: string; signedBy?: string }]> => {
    const roleArn = form.get('RoleArn') ?? '';
    const sessionName = form.get('RoleSessionName') ?? '';
    const info: { sub?: string; jti?: string; signedBy?: string } = {};
    if (form.get('Version') !== '2011-06-15') return [...error(400, 'InvalidAction', 'unsupported version'), info];
    if (form.get('Action') === 'AssumeRole') return [...(await assumeRole(form, req, body, info)), info];
    if (form.get('Action') !== 'AssumeRoleWithWebIdentity') return [...error(400, 'InvalidAction', 'unsupported action'), info];
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
    const [, user] = await issue(roleArn, sessionName);
    return [200, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>
<SubjectFromWebIdentityToken>${xml(claims.sub ?? '')}</SubjectFromWebIdentityToken><Audience>${xml(trust.audience)}</Audience>
${user}
<Provider>${xml(trust.issuer)}</Provider></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`, info];
  };

  const server = createServer((req, res) => {
    void readAll(req).then(async (body) => {
      const form = new URLSearchParams(body.toString('utf8'));
      const [status, text, info] = await handle(form, req, body);
      const duration = form.get('DurationSeconds');
      const tagCount = members(form, 'Tags').length;
      const tags = tagCount === 0 ? undefined : Object.fromEntries(Array.from({ length: tagCount }, (_, i) => [form.get(`Tags.member.${i + 1}.Key`) ?? '', form.get(`Tags.member.${i + 1}.Value`) ?? '']));
      const transitive = members(form, 'TransitiveTagKeys');
      calls.push({
        action: form.get('Action') ?? '', tags, transitiveTagKeys: transitive.length === 0 ? undefined : transitive,
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

/** Gatehouse's own inbound SigV4 verifier over a key file it rewrites as keys are added. */
export interface SigV4Verifier {
  /** The signer's principal, or the verifier's refusal code. */
  verify(req: IncomingMessage, readBody: () => Promise<Buffer>): Promise<{ principal: string } | { refused: string }>;
  /** Trust a key (static, or issued by STS); resolves once the verifier has it. */
  addKey(accessKeyId: string, key: { secret: string; principal: string; sessionToken?: string; expiresAt?: string }): Promise<void>;
  close(): void;
}

/** A verifier of requests signed for `service` in `region`. */
export async function startSigV4Verifier(service: string, region: string): Promise<SigV4Verifier> {
  const dir = mkdtempSync(join(tmpdir(), 'sigv4-backend-'));
  const file = join(dir, 'keys.json');
  const keys: Record<string, Record<string, string>> = {};
  writeFileSync(file, '{}');
  const store = new KeyStore('aws-backend', file);
  await store.start();
  const verifier = buildSigV4Authenticator('aws-backend', { service, region, clockSkewMs: 5 * 60_000, allowUnsignedPayload: true, keys: store });
  let updating: Promise<void> = Promise.resolve();
  return {
    async verify(req, readBody) {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const result = await verifier.authenticate({
        method: req.method ?? 'GET', path: q === -1 ? url : url.slice(0, q), rawPath: q === -1 ? url : url.slice(0, q), query: q === -1 ? '' : url.slice(q + 1),
        headers: req.headers, rawHeaders: req.rawHeaders, readBody,
      });
      if (result === 'absent') return { refused: 'token_missing' };
      return result.ok ? { principal: result.identity.subject } : { refused: result.refusal.code };
    },
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
    close: () => store.close(),
  };
}

/** An AWS-style backend for `service` in `region`: 200 with what it verified, 403 with the refusal code otherwise. */
export async function startSigV4Backend(service: string, region: string): Promise<SigV4Backend> {
  const verifier = await startSigV4Verifier(service, region);
  const requests: BackendRequest[] = [];
  const server = createServer((req, res) => {
    let body: Promise<Buffer> | undefined;
    const readBody = (): Promise<Buffer> => (body ??= readAll(req));
    void verifier.verify(req, readBody).then(async (verdict) => {
      const bytes = await readBody();
      const principal = 'principal' in verdict ? verdict.principal : undefined;
      const refused = 'refused' in verdict ? verdict.refused : undefined;
      requests.push({ method: req.method ?? '', url: req.url ?? '/', headers: req.headers, body: bytes, principal, refused });
      res.writeHead(principal !== undefined ? 200 : 403, { 'content-type': 'application/json' })
        .end(JSON.stringify({ principal, refused, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length }));
    });
  });
  const url = await listen(server);
  return {
    url, requests,
    addKey: (accessKeyId, key) => verifier.addKey(accessKeyId, key),
    async close() { verifier.close(); await closeServer(server); },
  };
}
