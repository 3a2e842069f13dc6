/** Bounded JSON GET for discovery documents and JWKS: status, type, size and time are all checked. */
import { request, type Dispatcher } from 'undici';

/** Discovery documents and key sets are small; anything larger is a misconfiguration or an attack. */
export const MAX_JSON_BYTES = 1024 * 1024;

/** Options fixed per key store. */
export interface FetchJsonOptions {
  readonly timeoutMs: number;
  /** An Agent trusting the configured CA, or undefined for undici's global dispatcher. */
  readonly dispatcher?: Dispatcher;
}

/** A failed fetch; the message is safe to expose in readiness output (no body content). */
export class FetchJsonError extends Error {
  override readonly name = 'FetchJsonError';
}

/** A JSON media type (`application/json`, `application/jwk-set+json`, …). */
export const JSON_TYPE = /^application\/(?:[\w.+-]*\+)?json(?:\s*;|$)/i;

/** GET `url` and parse its JSON body. Only 200 with a JSON content type and at most 1 MiB is accepted. */
export async function fetchJson(url: string, opts: FetchJsonOptions): Promise<unknown> {
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      method: 'GET',
      headers: { accept: 'application/json' },
      dispatcher: opts.dispatcher,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
  } catch (err) {
    throw new FetchJsonError(`request failed: ${describeFailure(err)}`, { cause: err });
  }
  const { statusCode, headers, body } = res;
  if (statusCode !== 200) {
    discard(body);
    throw new FetchJsonError(`unexpected HTTP status ${statusCode}`);
  }
  const type = headers['content-type'];
  if (typeof type !== 'string' || !JSON_TYPE.test(type)) {
    discard(body);
    throw new FetchJsonError('response is not application/json');
  }
  const length = Number(headers['content-length']);
  if (Number.isFinite(length) && length > MAX_JSON_BYTES) {
    discard(body);
    throw new FetchJsonError('response body exceeds 1 MiB');
  }
  const text = await readBounded(body, MAX_JSON_BYTES, () => new FetchJsonError('response body exceeds 1 MiB'),
    (reason, cause) => new FetchJsonError(`reading the response failed: ${reason}`, { cause }));
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new FetchJsonError('response is not valid JSON');
  }
}

/** Drop a body we will not read. Destroying emits an AbortError, which is expected here. */
export function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

/**
 * Read a response body as text, at most `maxBytes`: past it the body is dropped and `tooLarge()` is
 * thrown; a read failure throws `failed(reason)` with a safe reason.
 */
export async function readBounded(body: Dispatcher.ResponseData['body'], maxBytes: number, tooLarge: () => Error, failed: (reason: string, cause: unknown) => Error): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > maxBytes) {
        over = true;
        discard(body);
        break;
      }
      chunks.push(buf);
    }
  } catch (err) {
    throw failed(describeFailure(err), err);
  }
  if (over) throw tooLarge();
  return Buffer.concat(chunks).toString('utf8');
}

/** A short, safe reason: `timeout`, an error code or an error name; never response content. */
export function describeFailure(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timeout';
    const code = (err as { code?: unknown }).code ?? (err.cause as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' ? code : err.name;
  }
  return 'unknown error';
}
