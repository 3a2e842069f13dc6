import { Transform, type TransformCallback } from 'node:stream';

/**
 * Counts request body bytes on their way upstream and calls `onOverLimit` (once) instead of
 * passing on the chunk that crosses `maxBytes`. It sits between the IncomingMessage and undici
 * so that undici destroying its body (on any failure) never destroys the client's socket.
 */
export class BodyMeter extends Transform {
  bytes = 0;
  readonly #maxBytes: number;
  readonly #onOverLimit: () => void;
  #over = false;

  constructor(maxBytes: number, onOverLimit: () => void) {
    super();
    this.#maxBytes = maxBytes;
    this.#onOverLimit = onOverLimit;
    // undici may destroy its body with the upstream's error after it stopped listening; the
    // failure is already reported through the dispatch handler, so it must not crash the process.
    this.on('error', ignore);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#over) return callback();
    if (this.bytes + chunk.length > this.#maxBytes) {
      this.#over = true;
      this.#onOverLimit();
      return callback();
    }
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

function ignore(): void {}
