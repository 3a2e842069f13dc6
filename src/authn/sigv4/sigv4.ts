import { createHash, timingSafeEqual } from 'node:crypto';
import { resolve } from 'node:path';
import type { Static } from '@sinclair/typebox';
import type { ErrorCode } from '../../errors.js';
import { parseDuration } from '../../config/units.js';
import type { SigV4ProviderSchema } from './schema.js';
import { ABSENT, PENDING, type AuthnOutcome, type AuthnRequest, type Authenticator, type ProviderContext } from '../authenticator.js';
import { CanonicalRequestBuilder, UNSIGNED_PAYLOAD, sha256Hex, signature, stringToSign } from './canonical.js';
import { hasSigV4Credential, parseSignedRequest, type SignedParts } from './parse.js';
import { KeyStore, type AccessKey } from './keys.js';

/** Everything the verifier needs, resolved once at load. */
export interface SigV4Options {
  readonly service: string;
  readonly region: string;
  readonly clockSkewMs: number;
  readonly allowUnsignedPayload: boolean;
  readonly keys: KeyStore;
  /** Clock (tests pin it). */
  readonly now?: () => number;
}

/** The request as the authenticator may see it; `rawHeaders` (Node's, name/value pairs) when the pipeline passes them. */
type SigV4Request = AuthnRequest & { readonly rawHeaders?: readonly string[] };

/**
 * How the body enters the canonical request: `declared` by x-amz-content-sha256 (a hex hash the body
 * must match, or UNSIGNED-PAYLOAD), the `body`'s own hash, or for a presigned URL that declares
 * nothing, either of those (`presign`).
 */
type Payload = { readonly kind: 'declared'; readonly hash: string } | { readonly kind: 'body' } | { readonly kind: 'presign' };

const HEX_HASH = /^[0-9a-f]{64}$/;

/** Build the sigv4 authenticator for provider `name` (at config load). */
export function createSigV4Authenticator(name: string, cfg: Static<typeof SigV4ProviderSchema>, ctx: ProviderContext): Authenticator {
  return buildSigV4Authenticator(name, {
    service: cfg.service,
    region: cfg.region,
    clockSkewMs: parseDuration(cfg.clockSkew ?? '5m'),
    allowUnsignedPayload: cfg.allowUnsignedPayload === true,
    keys: new KeyStore(name, resolve(ctx.baseDir, cfg.credentials)),
  });
}

/** The authenticator from resolved options (what the factory builds; tests pin the clock). */
export function buildSigV4Authenticator(name: string, opts: SigV4Options): Authenticator {
  const canonical = new CanonicalRequestBuilder(opts.service);
  const now = opts.now ?? Date.now;
  const refuse = (code: ErrorCode, detail: string): AuthnOutcome => ({ ok: false, refusal: { code, detail }, provider: name });

  /** Checks that need neither the key nor the body: scope, time, which headers are signed. */
  function precheck(req: SigV4Request, p: SignedParts): AuthnOutcome | undefined {
    if (p.terminal !== 'aws4_request' || p.service !== opts.service || p.region !== opts.region) {
      return refuse('credential_scope_invalid', `the credential scope must be <date>/${opts.region}/${opts.service}/aws4_request`);
    }
    if (p.scopeDate !== p.amzDate.slice(0, 8)) return refuse('credential_scope_invalid', 'the date in the credential scope is not the request date');
    const t = now();
    if (p.timeMs - t > opts.clockSkewMs) return refuse('request_expired', 'the request time is in the future');
    if (p.form === 'header' && t - p.timeMs > opts.clockSkewMs) return refuse('request_expired', 'the request time is too far in the past');
    if (p.expiresSec !== undefined && t > p.timeMs + p.expiresSec * 1000) return refuse('request_expired', 'the presigned URL has expired');
    const signed = new Set(p.signedHeaders);
    if (!signed.has('host')) return refuse('signed_headers_invalid', 'the host header must be signed');
    for (const h of ['x-amz-content-sha256', ...(p.form === 'header' ? [p.dateHeader!, 'x-amz-security-token'] : [])]) {
      if (req.headers[h] !== undefined && !signed.has(h)) return refuse('signed_headers_invalid', `the ${h} header must be signed`);
    }
    for (const h of p.signedHeaders) if (req.headers[h] === undefined) return refuse('signed_headers_invalid', `signed header ${h} is not in the request`);
    return undefined;
  }

  /** The key, its session token and its lifetime. */
  function checkKey(p: SignedParts): AuthnOutcome | AccessKey {
    if (!opts.keys.ready) return refuse('provider_unavailable', 'the access keys are not loaded');
    const key = opts.keys.lookup(p.accessKeyId);
    if (!key) return refuse('unknown_access_key', 'the access key id is not known');
    if (!sameToken(key.sessionTokenHash, p.securityToken)) return refuse('unknown_access_key', 'the security token is missing or does not belong to this access key');
    if (key.expiresAtMs !== undefined && now() >= key.expiresAtMs) return refuse('request_expired', 'the temporary credential has expired');
    return key;
  }

  /** The payload hash the client claims (x-amz-content-sha256, as header or presign parameter). */
  function claimedPayload(req: SigV4Request, p: SignedParts): Payload | AuthnOutcome {
    const header = req.headers['x-amz-content-sha256'];
    // The SDK's presign hoists the header into the query under its own spelling.
    const param = p.form === 'query' ? Object.entries(p.query).find(([k]) => k.toLowerCase() === 'x-amz-content-sha256')?.[1] : undefined;
    const claimed = typeof param === 'string' ? param : typeof header === 'string' ? header : undefined;
    if (claimed === undefined) return { kind: p.form === 'query' ? 'presign' : 'body' };
    if (claimed === UNSIGNED_PAYLOAD) {
      return opts.allowUnsignedPayload ? { kind: 'declared', hash: UNSIGNED_PAYLOAD } : refuse('unsigned_payload_not_allowed', 'this provider requires a signed payload hash');
    }
    if (claimed.startsWith('STREAMING-')) return refuse('token_malformed', 'chunked (STREAMING-*) payload signing is not supported');
    if (!HEX_HASH.test(claimed)) return refuse('payload_hash_mismatch', 'x-amz-content-sha256 is neither a SHA-256 hex digest nor UNSIGNED-PAYLOAD');
    return { kind: 'declared', hash: claimed };
  }

  async function verify(req: SigV4Request, p: SignedParts): Promise<AuthnOutcome> {
    const early = precheck(req, p);
    if (early) return early;
    const key = checkKey(p);
    if ('ok' in key) return key;
    const payload = claimedPayload(req, p);
    if ('ok' in payload) return payload;
    const signingKey = opts.keys.signingKey(p.accessKeyId, key, p.scopeDate, opts.region, opts.service);
    const header = headerReader(req);
    const matches = (payloadHash: string): boolean => {
      const creq = canonical.build({ method: req.method, rawPath: req.rawPath, query: p.query, signedHeaders: p.signedHeaders, header, payloadHash });
      return creq !== undefined && timingSafeEqual(signature(signingKey, stringToSign(p.amzDate, p.scope, creq)), p.signature);
    };
    const ok: AuthnOutcome = { ok: true, identity: key.identity };
    const invalid = refuse('signature_invalid', 'the signature does not match the request');

    if (payload.kind === 'presign') {
      // A presigned URL without X-Amz-Content-Sha256: S3-style signers sign UNSIGNED-PAYLOAD, the SDK's
      // generic presign signs the body's hash (empty for a GET). Either is accepted; the first only when allowed.
      if (opts.allowUnsignedPayload && matches(UNSIGNED_PAYLOAD)) return ok;
      if (matches(sha256Hex(await req.readBody()))) return ok;
      return !opts.allowUnsignedPayload && matches(UNSIGNED_PAYLOAD) ? refuse('unsigned_payload_not_allowed', 'this provider requires a signed payload hash') : invalid;
    }
    if (payload.kind === 'body') return matches(sha256Hex(await req.readBody())) ? ok : invalid;
    if (!matches(payload.hash)) return invalid;
    // The signature covers the declared hash; only now is the body worth reading (never for UNSIGNED-PAYLOAD).
    if (payload.hash !== UNSIGNED_PAYLOAD && sha256Hex(await req.readBody()) !== payload.hash) {
      return refuse('payload_hash_mismatch', 'the body does not match x-amz-content-sha256');
    }
    return ok;
  }

  return {
    kind: 'sigv4',
    // The session token is a credential; the signature headers are useless upstream but harmless.
    credentialHeaders: ['authorization', 'x-amz-security-token'],
    hint: 'an AWS SigV4-signed request',
    bearer: false,
    get ready() { return opts.keys.ready; },
    async start() {
      if (!(await opts.keys.start())) throw new Error(`provider "${name}": SigV4 key file: ${opts.keys.lastError ?? 'not loaded'}`);
    },
    close() { opts.keys.close(); },
    // The payload hash usually needs the body: a signed request is always decided by authenticate.
    probe: (req) => (hasSigV4Credential(req.headers, req.query) ? PENDING : ABSENT),
    authenticate(req: SigV4Request) {
      if (!hasSigV4Credential(req.headers, req.query)) return Promise.resolve(ABSENT);
      const parsed = parseSignedRequest(req.headers, req.query);
      if (!parsed.ok) return Promise.resolve({ ...parsed, provider: name });
      return verify(req, parsed.parts);
    },
  };
}

function sameToken(expectedHash: Buffer | undefined, presented: string | undefined): boolean {
  if (expectedHash === undefined || presented === undefined) return expectedHash === undefined && presented === undefined;
  return timingSafeEqual(expectedHash, createHash('sha256').update(presented).digest());
}

/**
 * A signed header's value as the client sent it. With Node's raw header list, repeated lines are
 * joined with `,` as SigV4 wants; `req.headers` joins them with `, ` (and keeps only the first of
 * some), so a client repeating a signed header then fails closed.
 */
function headerReader(req: SigV4Request): (name: string) => string | undefined {
  const raw = req.rawHeaders;
  if (raw === undefined) {
    return (name) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(',') : v;
    };
  }
  return (name) => {
    const values: string[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) values.push(raw[i + 1]!);
    return values.length === 0 ? undefined : values.join(',');
  };
}
