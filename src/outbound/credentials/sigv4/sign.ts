/**
 * Signing the outbound request with the AWS SDK's SignatureV4 (@smithy/signature-v4, Node hash).
 * What is signed is what is sent: `host`, the `x-amz-*` the signer sets, and the configured extra
 * headers; the query is re-encoded the way the signer canonicalizes it and sent so. Whatever the
 * caller sent that a signature is made of (Authorization, x-amz-* headers, presigning parameters
 * of the query) is dropped first, so a forged session token or signature never reaches the backend.
 */
import { createHash } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import type { OutboundRequest } from '../../../pipeline/context.js';
import type { AwsKeys } from './sts.js';

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const CONTENT_SHA256 = 'x-amz-content-sha256';
/** Query parameters of a presigned URL: a caller's must not ride along on the gateway's signature. */
const PRESIGN_PARAM = /^x-amz-(algorithm|credential|date|expires|signedheaders|signature|security-token)$/i;

type SignInput = Parameters<SignatureV4['sign']>[0];
type Query = Record<string, string | string[] | null>;

/** The SDK's escape of a query component (RFC 3986 unreserved kept). */
const escape = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    // Not valid percent-encoding: taken literally (and sent re-encoded, as signed).
    return s;
  }
}

/** The path, the decoded query (presigning parameters dropped) and the query as it is sent. */
export function splitQuery(pathWithQuery: string): { path: string; query: Query; wire: string } {
  const q = pathWithQuery.indexOf('?');
  if (q === -1) return { path: pathWithQuery, query: {}, wire: pathWithQuery };
  const path = pathWithQuery.slice(0, q);
  const query: Query = {};
  const parts: string[] = [];
  for (const pair of pathWithQuery.slice(q + 1).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decode(eq === -1 ? pair : pair.slice(0, eq));
    if (PRESIGN_PARAM.test(key)) continue;
    const value = eq === -1 ? null : decode(pair.slice(eq + 1));
    const prev = query[key];
    if (prev === undefined) query[key] = value;
    else query[key] = [...(Array.isArray(prev) ? prev : [prev ?? '']), value ?? ''];
    parts.push(value === null ? escape(key) : `${escape(key)}=${escape(value)}`);
  }
  return { path, query, wire: parts.length === 0 ? path : `${path}?${parts.join('&')}` };
}

export interface RequestSigner {
  /** Sign `out` in place with `keys`; `body` is the buffered body for a signed payload. */
  sign(out: OutboundRequest, keys: AwsKeys, body: Buffer | undefined): Promise<void>;
}

export function createRequestSigner(opts: { service: string; region: string; signedHeaders?: readonly string[] | undefined; now?: () => Date }): RequestSigner {
  const extra = [...new Set((opts.signedHeaders ?? []).map((h) => h.toLowerCase()))].filter((h) => h !== 'host' && h !== 'authorization');
  const keep = new Set(extra.filter((h) => h.startsWith('x-amz-')));
  // S3 signs the path as sent; every other service signs it URI-encoded once more.
  const uriEscapePath = opts.service !== 's3';
  const signers = new WeakMap<AwsKeys, SignatureV4>();
  const signerFor = (keys: AwsKeys): SignatureV4 => {
    let signer = signers.get(keys);
    if (signer === undefined) {
      signer = new SignatureV4({ service: opts.service, region: opts.region, credentials: keys, sha256: Hash.bind(null, 'sha256'), uriEscapePath, applyChecksum: false });
      signers.set(keys, signer);
    }
    return signer;
  };
  return {
    async sign(out, keys, body) {
      const headers = out.headers;
      delete headers.authorization;
      for (const name of Object.keys(headers)) if (name.startsWith('x-amz-') && !keep.has(name)) delete headers[name];
      const { path, query, wire } = splitQuery(out.path);
      out.path = wire;
      const host = headers.host;
      const signing: Record<string, string> = { host: Array.isArray(host) ? host.join(',') : host ?? '' };
      for (const name of extra) {
        const v = headers[name];
        if (v !== undefined) signing[name] = Array.isArray(v) ? v.join(',') : v;
      }
      signing[CONTENT_SHA256] = body === undefined ? UNSIGNED_PAYLOAD : createHash('sha256').update(body).digest('hex');
      const request: SignInput = { method: out.method, protocol: 'https:', hostname: signing.host!, path, query, headers: signing };
      const signed = await signerFor(keys).sign(request, { signingDate: opts.now?.() ?? new Date() });
      for (const [name, value] of Object.entries(signed.headers)) if (name !== 'host') headers[name.toLowerCase()] = value;
    },
  };
}
