export interface SlidingWindowLimiterOptions {
  /** Failures allowed per subject within the window. */
  maxFailures: number;
  windowMs: number;
  /** Subjects tracked at most; the least recently failed are forgotten first. Default 10 000. */
  maxSubjects?: number;
  now?: () => number;
}

/**
 * Counts failed attempts per subject (a client IP, a key id) over a sliding window. A subject that
 * has failed `maxFailures` times within the window is blocked until its oldest counted failure
 * leaves the window. Memory is bounded, so a flood of distinct subjects cannot exhaust it.
 */
export class SlidingWindowLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly options: Required<SlidingWindowLimiterOptions>;

  constructor(options: SlidingWindowLimiterOptions) {
    if (!(Number.isInteger(options.maxFailures) && options.maxFailures > 0)) {
      throw new TypeError('SlidingWindowLimiterOptions.maxFailures must be a positive integer');
    }
    if (!(options.windowMs > 0)) throw new TypeError('SlidingWindowLimiterOptions.windowMs must be positive');
    this.options = { maxSubjects: 10_000, now: Date.now, ...options };
  }

  /** Milliseconds until `subject` may try again, or 0 when it is not blocked. */
  blockedForMs(subject: string): number {
    const times = this.recent(subject);
    if (times.length < this.options.maxFailures) return 0;
    const oldest = times[times.length - this.options.maxFailures] as number;
    return Math.max(1, oldest + this.options.windowMs - this.options.now());
  }

  recordFailure(subject: string): void {
    const times = this.recent(subject);
    times.push(this.options.now());
    // Only the newest maxFailures timestamps decide anything.
    if (times.length > this.options.maxFailures) times.splice(0, times.length - this.options.maxFailures);
    this.failures.delete(subject);
    this.failures.set(subject, times);
    if (this.failures.size > this.options.maxSubjects) {
      const oldestSubject = this.failures.keys().next().value as string;
      this.failures.delete(oldestSubject);
    }
  }

  private recent(subject: string): number[] {
    const times = this.failures.get(subject);
    if (!times) return [];
    const from = this.options.now() - this.options.windowMs;
    while (times.length > 0 && (times[0] as number) <= from) times.shift();
    if (times.length === 0) this.failures.delete(subject);
    return times;
  }
}
