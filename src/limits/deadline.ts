/**
 * Coarse deadlines for work in flight (an upstream call's headers and body timeouts): one sweep per
 * process every `TICK_MS` over an intrusive list, instead of a timer object per request. A timer
 * created per request outlives the young generation when it is kept for a while (undici keeps its
 * fast timers in an array until its next half-second tick), so every request left garbage in the
 * old generation and the major GCs that collect it stopped the event loop about once a second.
 * Here arming, re-arming and disarming only write fields of the object itself.
 *
 * Time is counted in sweeps, as undici's fast timers count theirs: a stalled event loop (a long GC,
 * a blocked CPU) does not expire everything that waited through it. A deadline of `ms` fires at the
 * first sweep at least `ms` after it was armed, and less than two ticks later than that.
 */
export abstract class Deadline {
  /** Sweep interval. */
  static readonly TICK_MS = 250;
  static #clock = 0;
  static #head: Deadline | undefined;
  static #timer: NodeJS.Timeout | undefined;
  static #ticking = false;

  #prev: Deadline | undefined;
  #next: Deadline | undefined;
  #listed = false;
  #ms = 0;
  #due = 0;
  /** The next of the deadlines one sweep found due (only during the sweep). */
  #nextDue: Deadline | undefined;

  /** Due in `ms` from now, replacing any earlier deadline of this object; 0 disarms. */
  protected arm(ms: number): void {
    if (ms <= 0) return this.disarm();
    this.#ms = ms;
    // The clock is the time of the last sweep, up to a tick ago: one more tick so it never fires early.
    this.#due = Deadline.#clock + ms + Deadline.TICK_MS;
    if (!this.#listed) this.#link();
  }

  /** Start the current deadline's time again (activity), if one is armed. */
  protected rearm(): void {
    if (this.#listed) this.#due = Deadline.#clock + this.#ms + Deadline.TICK_MS;
  }

  protected disarm(): void {
    if (!this.#listed) return;
    this.#listed = false;
    const prev = this.#prev;
    const next = this.#next;
    if (prev === undefined) Deadline.#head = next;
    else prev.#next = next;
    if (next !== undefined) next.#prev = prev;
    this.#prev = this.#next = undefined;
  }

  protected get armed(): boolean {
    return this.#listed;
  }

  /** Whether the clock stands still for this object now (asked at every sweep; it then has its whole time again). */
  protected held(): boolean {
    return false;
  }

  /** The deadline passed: it is disarmed already. */
  protected abstract expired(): void;

  #link(): void {
    this.#listed = true;
    const head = Deadline.#head;
    this.#next = head;
    if (head !== undefined) head.#prev = this;
    Deadline.#head = this;
    if (Deadline.#ticking) return;
    Deadline.#ticking = true;
    if (Deadline.#timer === undefined) Deadline.#timer = setTimeout(Deadline.#sweep, Deadline.TICK_MS).unref();
    else Deadline.#timer.refresh();
  }

  static #sweep = (): void => {
    const clock = (Deadline.#clock += Deadline.TICK_MS);
    // Two passes: what is due is found first, and told after. An expiry handler may disarm or re-arm
    // other deadlines: walking the list while handlers change it could skip the rest of it, and one
    // disarmed or re-armed by a handler must not be told.
    let due: Deadline | undefined;
    let last: Deadline | undefined;
    let node = Deadline.#head;
    while (node !== undefined) {
      if (node.held()) node.#due = clock + node.#ms + Deadline.TICK_MS;
      else if (node.#due <= clock) {
        // Told in list order.
        if (last === undefined) due = node;
        else last.#nextDue = node;
        last = node;
      }
      node = node.#next;
    }
    while (due !== undefined) {
      const expired = due;
      due = expired.#nextDue;
      expired.#nextDue = undefined;
      if (expired.#listed && expired.#due <= clock) {
        expired.disarm();
        expired.expired();
      }
    }
    // The timer runs only while something is armed; the clock stands still in between.
    if (Deadline.#head !== undefined) Deadline.#timer!.refresh();
    else Deadline.#ticking = false;
  };
}
