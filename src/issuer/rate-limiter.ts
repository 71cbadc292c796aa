export interface SlidingWindowLimiterOptions {
  /** Failures allowed per subject within the window. */
  maxFailures: number;
  windowMs: number;
  /**
   * Subjects still below the limit that are tracked at most; the least recently failed are forgotten
   * first. Default 10 000.
   */
  maxSubjects?: number;
  /**
   * Blocked subjects tracked at most. Default 10 000. When that many are blocked at once, a subject
   * not tracked yet counts as blocked (see {@link SlidingWindowLimiter}).
   */
  maxBlockedSubjects?: number;
  now?: () => number;
}

/**
 * Counts failed attempts per subject (a client address, a key id) over a sliding window. A subject that
 * has failed `maxFailures` times within the window is blocked until its oldest counted failure leaves
 * the window.
 *
 * Memory is bounded without letting a flood buy anyone's freedom: subjects below the limit live in one
 * table, forgotten least-recently-failed first; blocked subjects live in another that nothing evicts
 * early. If the blocked table is full, the limiter is saturated: every subject it does not track is
 * treated as blocked until the window has passed. That is safe only because the issuer consults the
 * limiter for failed attempts alone — a correct secret is accepted whatever the limiter says — so
 * failing closed here costs no legitimate client anything.
 */
export class SlidingWindowLimiter {
  /** Subjects below the limit, least recently failed first (Map keeps insertion order). */
  private readonly counting = new Map<string, number[]>();
  /** Subjects at the limit; their newest `maxFailures` failure times. */
  private readonly blocked = new Map<string, number[]>();
  private saturatedUntil = 0;
  /** No blocked entry expires before this; pruning earlier would find nothing. */
  private nothingExpiresBefore = 0;
  private readonly options: Required<SlidingWindowLimiterOptions>;

  constructor(options: SlidingWindowLimiterOptions) {
    if (!(Number.isInteger(options.maxFailures) && options.maxFailures > 0)) {
      throw new TypeError('SlidingWindowLimiterOptions.maxFailures must be a positive integer');
    }
    if (!(options.windowMs > 0)) throw new TypeError('SlidingWindowLimiterOptions.windowMs must be positive');
    this.options = { maxSubjects: 10_000, maxBlockedSubjects: 10_000, now: Date.now, ...options };
    for (const name of ['maxSubjects', 'maxBlockedSubjects'] as const) {
      if (!(Number.isInteger(this.options[name]) && this.options[name] > 0)) {
        throw new TypeError(`SlidingWindowLimiterOptions.${name} must be a positive integer`);
      }
    }
  }

  /** Milliseconds until `subject` may fail again without being refused, or 0 when it is not blocked. */
  blockedForMs(subject: string): number {
    const now = this.options.now();
    const times = this.blockedTimes(subject, now);
    if (times) return this.waitOf(times, now);
    if (!this.counting.has(subject) && now < this.saturatedUntil) return this.saturatedUntil - now;
    return 0;
  }

  recordFailure(subject: string): void {
    const now = this.options.now();
    const blocked = this.blockedTimes(subject, now);
    if (blocked) {
      blocked.push(now);
      blocked.splice(0, blocked.length - this.options.maxFailures);
      return;
    }
    const times = this.recent(this.counting.get(subject) ?? [], now);
    times.push(now);
    this.counting.delete(subject);
    if (times.length >= this.options.maxFailures) {
      this.block(subject, times, now);
      return;
    }
    this.counting.set(subject, times);
    if (this.counting.size > this.options.maxSubjects) {
      // Below the limit by definition: forgetting one gives a subject back at most maxFailures - 1 tries.
      this.counting.delete(this.counting.keys().next().value as string);
    }
  }

  /** Subjects tracked now: below the limit and blocked. For tests and metrics. */
  size(): { counting: number; blocked: number } {
    return { counting: this.counting.size, blocked: this.blocked.size };
  }

  private block(subject: string, times: number[], now: number): void {
    if (this.blocked.size >= this.options.maxBlockedSubjects) this.pruneBlocked(now);
    if (this.blocked.size >= this.options.maxBlockedSubjects) {
      // No room to remember this one: everyone not remembered is refused until the window passed.
      this.saturatedUntil = now + this.options.windowMs;
      return;
    }
    const kept = times.slice(-this.options.maxFailures);
    this.blocked.set(subject, kept);
    this.nothingExpiresBefore = Math.min(this.nothingExpiresBefore, now + this.waitOf(kept, now));
  }

  /** The blocked entry of `subject`, or undefined once it is no longer blocked (it is then dropped). */
  private blockedTimes(subject: string, now: number): number[] | undefined {
    const times = this.blocked.get(subject);
    if (!times) return undefined;
    if (this.waitOf(times, now) > 0) return times;
    this.blocked.delete(subject);
    const left = this.recent(times, now);
    if (left.length > 0) this.counting.set(subject, left);
    return undefined;
  }

  // At most one sweep per expiry: a saturated limiter under a flood does not scan the table per request.
  private pruneBlocked(now: number): void {
    if (now < this.nothingExpiresBefore) return;
    let next = Number.POSITIVE_INFINITY;
    for (const [subject, times] of this.blocked) {
      const wait = this.waitOf(times, now);
      if (wait === 0) this.blocked.delete(subject);
      else next = Math.min(next, now + wait);
    }
    this.nothingExpiresBefore = next;
  }

  private waitOf(times: number[], now: number): number {
    if (times.length < this.options.maxFailures) return 0;
    const oldest = times[times.length - this.options.maxFailures] as number;
    return Math.max(0, oldest + this.options.windowMs - now);
  }

  private recent(times: number[], now: number): number[] {
    const from = now - this.options.windowMs;
    return times.filter((t) => t > from);
  }
}
