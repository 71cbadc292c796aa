// A counting semaphore for Node-side code: at most `permits` holders at once, the rest waiting in
// arrival order.

export class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(readonly permits: number) {
    if (!Number.isSafeInteger(permits) || permits < 1) {
      throw new RangeError(`a semaphore needs at least one permit, got ${permits}`);
    }
    this.#free = permits;
  }

  /** Holders right now. */
  get held(): number {
    return this.permits - this.#free;
  }

  /** Runs `fn` once a permit is free, and frees it when `fn` settles, whichever way. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.#acquire();
    try {
      return await fn();
    } finally {
      this.#release();
    }
  }

  #acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    // The permit passes straight to the next waiter, so a newcomer cannot overtake it.
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}
