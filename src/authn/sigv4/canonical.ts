/**
 * SigV4 canonicalization: the canonical request, the string to sign, the signing key and the
 * signature. The canonical form comes from the AWS SDK's own signer (@smithy/signature-v4) so that
 * what we verify is byte for byte what SDK clients sign; hashing and HMAC use node:crypto.
 */
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4Base, getCanonicalHeaders } from '@smithy/signature-v4';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** The SDK's request shape (derived, so no direct dependency on @smithy/types). */
type SdkRequest = Parameters<typeof getCanonicalHeaders>[0];
/** Decoded query parameters; a repeated key holds every value. */
export type QueryBag = NonNullable<SdkRequest['query']>;

/** What the canonical request is built from: the request as received, and what the client said it signed. */
export interface CanonicalInput {
  readonly method: string;
  /** The path exactly as the client sent it (still percent-encoded). */
  readonly rawPath: string;
  readonly query: QueryBag;
  /** Lower-case names from SignedHeaders. */
  readonly signedHeaders: readonly string[];
  /** A header's value as received: repeated lines already joined with `,`; undefined when absent. */
  readonly header: (name: string) => string | undefined;
  readonly payloadHash: string;
}

/** SHA-256 for the SDK base class's constructor (it only uses it for its own string to sign). */
type Bytes = string | ArrayBuffer | ArrayBufferView;
const view = (data: Bytes): string | Buffer =>
  typeof data === 'string' ? data : data instanceof ArrayBuffer ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);

class NodeSha256 {
  private readonly hash;
  constructor(secret?: Bytes) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', view(secret));
  }
  update(data: Bytes): void { this.hash.update(view(data)); }
  digest(): Promise<Uint8Array> { return Promise.resolve(new Uint8Array(this.hash.digest())); }
}

/**
 * Exposes the SDK signer's canonical-request builder (protected there). With `uriEscapePath` the
 * path is normalized (`//`, `.`, `..`) and URI-encoded once more, as every service except S3 expects.
 */
class CanonicalForm extends SignatureV4Base {
  constructor(service: string, uriEscapePath: boolean) {
    super({ service, region: 'unused', credentials: { accessKeyId: 'unused', secretAccessKey: 'unused' }, sha256: NodeSha256, uriEscapePath });
  }
  build(request: SdkRequest, canonicalHeaders: Record<string, string>, payloadHash: string): string {
    return this.createCanonicalRequest(request, canonicalHeaders, payloadHash);
  }
}

/** Builds canonical requests for one service; built once per provider. */
export class CanonicalRequestBuilder {
  private readonly form: CanonicalForm;
  constructor(service: string) {
    this.form = new CanonicalForm(service, service !== 's3');
  }

  /** The canonical request, or undefined when a signed header is absent from the request. */
  build(input: CanonicalInput): string | undefined {
    const headers: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const name of input.signedHeaders) {
      const value = input.header(name);
      if (value === undefined) return undefined;
      headers[name] = value;
    }
    const request: SdkRequest = { method: input.method, protocol: 'https:', hostname: '', path: input.rawPath, query: input.query, headers };
    // Passing the signed names as signable keeps headers the SDK never signs itself (user-agent, …)
    // when a client chose to sign them.
    const canonical = getCanonicalHeaders(request, undefined, new Set(input.signedHeaders));
    return this.form.build(request, canonical, input.payloadHash);
  }
}

/**
 * Decode a raw query string into the SDK's bag (the SDK re-encodes it canonically). A key without
 * `=` has the empty value. `+` is a literal plus, as AWS signers send `%20` for a space.
 * undefined when an escape is not valid percent-encoded UTF-8.
 */
export function parseQuery(raw: string): QueryBag | undefined {
  const bag: QueryBag = Object.create(null) as QueryBag;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decode(eq === -1 ? part : part.slice(0, eq));
    const value = decode(eq === -1 ? '' : part.slice(eq + 1));
    if (key === undefined || value === undefined) return undefined;
    const prev = bag[key];
    bag[key] = prev === undefined || prev === null ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return bag;
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** Lower-case hex SHA-256. */
export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `AWS4-HMAC-SHA256\n<date>\n<scope>\n<hash of the canonical request>`. */
export function stringToSign(amzDate: string, scope: string, canonicalRequest: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
}

/** The day's signing key: HMAC chain over date, region, service and `aws4_request`. */
export function deriveSigningKey(secret: string, date: string, region: string, service: string): Buffer {
  let key: Buffer = createHmac('sha256', `AWS4${secret}`).update(date).digest();
  for (const part of [region, service, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  return key;
}

/** The signature as raw bytes (32). */
export function signature(signingKey: Buffer, toSign: string): Buffer {
  return createHmac('sha256', signingKey).update(toSign).digest();
}
