import type { IncomingMessage } from 'node:http';
import { GatehouseError } from '../errors.js';

/**
 * A once-only, bounded reader of a request body, for authenticators that must see the payload
 * (SigV4). The first call reads; later calls get the same bytes. Past `limit`: body_too_large.
 */
export function bodyReader(req: IncomingMessage): { read: (limit: number) => Promise<Buffer>; readonly buffered: Buffer | undefined } {
  let pending: Promise<Buffer> | undefined;
  let buffered: Buffer | undefined;
  const read = (limit: number): Promise<Buffer> => {
    pending ??= new Promise<Buffer>((resolve, reject) => {
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
      req.once('end', () => resolve((buffered = Buffer.concat(chunks, size))));
      req.once('error', reject);
    });
    return pending;
  };
  return { read, get buffered() { return buffered; } };
}
