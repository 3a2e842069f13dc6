/** A cap on requests in flight (per process): a counter, acquired before forwarding, released on close. */
export class InFlight {
  #active = 0;
  constructor(readonly max: number) {}

  /** Take a slot, or return false when all `max` are taken. */
  tryAcquire(): boolean {
    if (this.#active >= this.max) return false;
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
