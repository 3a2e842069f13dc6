/** A cap on requests in flight (per process): a counter, acquired before forwarding, released on close. */
export class InFlight {
  #active = 0;
  #max: number;
  constructor(max: number) {
    this.#max = max;
  }

  get max(): number {
    return this.#max;
  }

  /** Several routes configure one shared cap: the smallest maximum wins. */
  lower(max: number): void {
    this.#max = Math.min(this.#max, max);
  }

  /** Take a slot, or return false when all `max` are taken. */
  tryAcquire(): boolean {
    if (this.#active >= this.#max) return false;
    this.#active++;
    return true;
  }

  release(): void {
    if (this.#active > 0) this.#active--;
  }

  get active(): number {
    return this.#active;
  }
}
