import type { IncomingMessage } from 'node:http';
import { GatehouseError } from '../errors.js';

/** Bodies read (or being read) by an authenticator, per request; nothing is kept for others. */
const reads = new WeakMap<IncomingMessage, { pending: Promise<Buffer>; buffered?: Buffer }>();

/**
 * Read the whole request body once, bounded by `limit` (past it: body_too_large), for
 * authenticators that must see the payload (SigV4). Later calls get the same bytes.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  let read = reads.get(req);
  if (read === undefined) {
    const entry: { pending: Promise<Buffer>; buffered?: Buffer } = { pending: collect(req, limit, (b) => { entry.buffered = b; }) };
    reads.set(req, (read = entry));
  }
  return read.pending;
}

/** The body an authenticator already read (then forwarded as is), or undefined (then streamed). */
export function bufferedBody(req: IncomingMessage): Buffer | undefined {
  return reads.get(req)?.buffered;
}

function collect(req: IncomingMessage, limit: number, done: (body: Buffer) => void): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) return reject(new GatehouseError('body_too_large', `request body exceeds ${limit} bytes`));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        reject(new GatehouseError('body_too_large', `request body exceeds ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      const body = Buffer.concat(chunks, size);
      done(body);
      resolve(body);
    });
    req.once('error', reject);
  });
}
