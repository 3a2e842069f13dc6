/**
 * A retry budget: retries may be at most `ratio` of the requests of the last 10 seconds, plus
 * `minPerSecond` retries per second always allowed. Counted in ten one-second buckets, so a
 * failing upstream is never hit with more than (1 + ratio) times its load.
 */
const BUCKETS = 10;
const BUCKET_MS = 1000;

export class RetryBudget {
  readonly #requests = new Float64Array(BUCKETS);
  readonly #retries = new Float64Array(BUCKETS);
  #bucket = 0;
  #bucketStart = 0;

  constructor(readonly ratio: number, readonly minPerSecond: number) {}

  /** Count one request (its first attempt). */
  request(now: number): void {
    this.#rotate(now);
    this.#requests[this.#bucket]!++;
  }

  /** Take one retry from the budget; false when it is spent. */
  tryRetry(now: number): boolean {
    this.#rotate(now);
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < BUCKETS; i++) {
      requests += this.#requests[i]!;
      retries += this.#retries[i]!;
    }
    if (retries >= this.minPerSecond * BUCKETS + this.ratio * requests) return false;
    this.#retries[this.#bucket]!++;
    return true;
  }

  #rotate(now: number): void {
    if (now - this.#bucketStart < BUCKET_MS) return;
    const steps = Math.min(BUCKETS, Math.floor((now - this.#bucketStart) / BUCKET_MS));
    for (let i = 0; i < steps; i++) {
      this.#bucket = (this.#bucket + 1) % BUCKETS;
      this.#requests[this.#bucket] = 0;
      this.#retries[this.#bucket] = 0;
    }
    this.#bucketStart = now - ((now - this.#bucketStart) % BUCKET_MS);
  }
}
