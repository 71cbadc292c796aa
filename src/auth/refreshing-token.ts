import { EventEmitter } from 'node:events';
import { inspect } from 'node:util';
import { AuthError } from './errors.js';
import {
  type AccessToken,
  asAuthError,
  type TokenSource,
  type TokenSourceLike,
  toTokenSource,
} from './token-source.js';

export interface RefreshingTokenOptions {
  /** Where tokens come from. */
  source: TokenSourceLike;
  /** Refresh when this fraction of the lifetime has passed. Default 0.75. */
  refreshAt?: number;
  /** Random spread around `refreshAt`, as a fraction of the lifetime, so many workers do not refresh in step. Default 0.05. */
  jitter?: number;
  /** Refresh at the latest this long before expiry, however `refreshAt` works out. Default 5000 ms. */
  safetyMarginMs?: number;
  /** First retry delay after a failed refresh. Default 250 ms. */
  initialBackoffMs?: number;
  /** Longest retry delay. Default 30000 ms. */
  maxBackoffMs?: number;
  /**
   * After a server rejects a token, `refreshRejected()` fetches a new one only if the rejected token
   * is at least this old: a token that fresh was refused for its permissions, not its age, and
   * refetching would only load the issuer. Default 2000 ms.
   */
  minRejectedRefreshIntervalMs?: number;
  /** Clock; injectable for tests. Default `Date.now`. */
  now?: () => number;
  /** Jitter source in [0, 1); injectable for tests. Default `Math.random`. */
  random?: () => number;
}

export interface RefreshedEvent {
  /** The new token. Handle with care: never log it. */
  token: string;
  expiresAt: number;
  /** How long the fetch took. */
  durationMs: number;
}

export interface RefreshFailedEvent {
  error: AuthError;
  /** Consecutive failures so far. */
  attempt: number;
  /** When the next attempt runs. */
  retryInMs: number;
  /** Whether a still-valid token is being served meanwhile. */
  servingPrevious: boolean;
}

interface RefreshingTokenEvents {
  refreshed: [RefreshedEvent];
  refreshFailed: [RefreshFailedEvent];
}

/**
 * A token cache that refreshes ahead of expiry. `current()` is the synchronous hot path; `get()` waits
 * only when nothing valid is cached. Exactly one fetch runs at a time however many callers ask; a failed
 * refresh retries with capped exponential backoff while the previous token is served as long as it is
 * valid. Timers are unref'd, so they never keep a process alive.
 *
 * @example
 * const token = new RefreshingToken({ source: new ClientCredentialsTokenSource({ tokenUrl, clientId, clientSecret }) });
 * await token.get();
 * token.on('refreshed', ({ expiresAt }) => console.log('token valid until', new Date(expiresAt)));
 */
export class RefreshingToken extends EventEmitter<RefreshingTokenEvents> {
  // `#private` fields: unlike TypeScript's `private`, invisible to JSON.stringify, spread and
  // util.inspect, so logging a RefreshingToken (or an object holding one) never prints the token.
  readonly #source: TokenSource;
  readonly #refreshAt: number;
  readonly #jitter: number;
  readonly #safetyMarginMs: number;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #minRejectedRefreshIntervalMs: number;
  readonly #now: () => number;
  readonly #random: () => number;

  #cached: AccessToken | undefined;
  #cachedAt = 0;
  #pending: Promise<AccessToken> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #lastError: AuthError | undefined;
  #stopped = false;
  // Sequence numbers: a fetch started earlier must never replace the result of one started later.
  #startedSeq = 0;
  #appliedSeq = 0;

  constructor(options: RefreshingTokenOptions) {
    super();
    this.#source = toTokenSource(options?.source);
    this.#refreshAt = fraction(options.refreshAt ?? 0.75, 'refreshAt', true);
    this.#jitter = fraction(options.jitter ?? 0.05, 'jitter', false);
    this.#safetyMarginMs = nonNegative(options.safetyMarginMs ?? 5_000, 'safetyMarginMs');
    this.#initialBackoffMs = nonNegative(options.initialBackoffMs ?? 250, 'initialBackoffMs');
    this.#maxBackoffMs = nonNegative(options.maxBackoffMs ?? 30_000, 'maxBackoffMs');
    if (this.#maxBackoffMs < this.#initialBackoffMs) {
      throw new TypeError('RefreshingTokenOptions.maxBackoffMs must be >= initialBackoffMs');
    }
    this.#minRejectedRefreshIntervalMs = nonNegative(
      options.minRejectedRefreshIntervalMs ?? 2_000,
      'minRejectedRefreshIntervalMs',
    );
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  /** The cached token if it is still valid, else undefined. Never performs I/O. */
  current(): string | undefined {
    return this.validCached()?.token;
  }

  /** A valid token: the cached one, or the result of the fetch in flight (starting one if needed). */
  async get(): Promise<string> {
    const token = this.current();
    if (token !== undefined) return token;
    return (await this.fetch()).token;
  }

  /**
   * Fetches a new token now, even if the cached one is valid (e.g. after the server rejected it).
   * Joins a fetch already in flight instead of starting a second.
   */
  async refresh(): Promise<string> {
    return (await this.fetch()).token;
  }

  /**
   * Called when a server refused `rejected`. Returns a different token worth one more try: the one
   * already cached if it has moved on, else a newly fetched one. Returns undefined when no different
   * token can be had — the rejected token is too fresh to be the problem (see
   * `minRejectedRefreshIntervalMs`) or the fetch failed — so callers do not retry a call bound to fail.
   */
  async refreshRejected(rejected: string): Promise<string | undefined> {
    const cached = this.validCached();
    if (cached && cached.token !== rejected) return cached.token;
    if (cached && this.#now() - this.#cachedAt < this.#minRejectedRefreshIntervalMs) return undefined;
    try {
      const token = await this.refresh();
      return token === rejected ? undefined : token;
    } catch {
      // Reported through 'refreshFailed'.
      return undefined;
    }
  }

  /** A snapshot for health checks and metrics; contains no token. */
  get state(): {
    valid: boolean;
    expiresAt: number | undefined;
    refreshing: boolean;
    consecutiveFailures: number;
    lastError: AuthError | undefined;
  } {
    return {
      valid: this.current() !== undefined,
      expiresAt: this.#cached?.expiresAt,
      refreshing: this.#pending !== undefined,
      consecutiveFailures: this.#failures,
      lastError: this.#lastError,
    };
  }

  /** What `JSON.stringify` shows: the state, never the token or the source's credentials. */
  toJSON(): Record<string, unknown> {
    const { lastError, ...state } = this.state;
    return { type: 'RefreshingToken', ...state, lastError: lastError?.code ?? null };
  }

  [inspect.custom](): string {
    return `RefreshingToken ${inspect(this.toJSON())}`;
  }

  /** Cancels scheduled refreshes. Pending `get()` calls reject with `auth.stopped`. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  private validCached(): AccessToken | undefined {
    const cached = this.#cached;
    return cached !== undefined && this.#now() < cached.expiresAt ? cached : undefined;
  }

  private fetch(): Promise<AccessToken> {
    if (this.#stopped) return Promise.reject(new AuthError('auth.stopped', 'RefreshingToken was stopped'));
    this.#pending ??= this.runFetch().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  private async runFetch(): Promise<AccessToken> {
    const seq = ++this.#startedSeq;
    const startedAt = this.#now();
    let result: AccessToken;
    try {
      result = await this.#source.getToken();
      validate(result);
    } catch (err) {
      const error = asAuthError(err);
      this.onFailure(error);
      throw error;
    }
    if (this.#stopped) throw new AuthError('auth.stopped', 'RefreshingToken was stopped');
    // Older than what we hold (a caching proxy, a replica behind): keep ours, try again later.
    const cached = this.validCached();
    if (cached && result.expiresAt < cached.expiresAt) {
      this.schedule(this.refreshDelay(cached, startedAt));
      return cached;
    }
    if (seq > this.#appliedSeq) {
      this.#appliedSeq = seq;
      this.#cached = result;
      this.#cachedAt = this.#now();
      this.#failures = 0;
      this.#lastError = undefined;
      this.schedule(this.refreshDelay(result, startedAt));
      this.emit('refreshed', {
        token: result.token,
        expiresAt: result.expiresAt,
        durationMs: this.#now() - startedAt,
      });
    }
    return this.#cached ?? result;
  }

  private onFailure(error: AuthError): void {
    this.#failures += 1;
    this.#lastError = error;
    if (this.#stopped) return;
    const base = Math.min(this.#maxBackoffMs, this.#initialBackoffMs * 2 ** (this.#failures - 1));
    // Full jitter on the upper half: spreads retries of many workers, never retries in a tight loop.
    let retryInMs = base / 2 + (this.#random() * base) / 2;
    const cached = this.validCached();
    if (cached) {
      // Keep serving the valid token, but never let the next try slip past its expiry.
      retryInMs = Math.min(retryInMs, Math.max(0, cached.expiresAt - this.#now() - 1));
    }
    this.schedule(retryInMs);
    this.emit('refreshFailed', {
      error,
      attempt: this.#failures,
      retryInMs,
      servingPrevious: cached !== undefined,
    });
  }

  private refreshDelay(token: AccessToken, receivedAt: number): number {
    const lifetime = token.expiresAt - receivedAt;
    if (!Number.isFinite(lifetime)) return Number.POSITIVE_INFINITY;
    const spread = (this.#random() * 2 - 1) * this.#jitter;
    const byFraction = lifetime * Math.min(1, Math.max(0, this.#refreshAt + spread));
    const byMargin = lifetime - this.#safetyMarginMs;
    // A token shorter than the safety margin is refreshed by the fraction alone; a floor keeps even a
    // nearly expired one from being refetched in a tight loop.
    const delay = byMargin > 0 ? Math.min(byFraction, byMargin) : byFraction;
    return Math.max(MIN_REFRESH_DELAY_MS, delay);
  }

  private schedule(delayMs: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    // setTimeout overflows above 2^31-1 ms; a token that long-lived needs no scheduled refresh.
    if (this.#stopped || !Number.isFinite(delayMs) || delayMs > 2_147_483_647) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.fetch().catch(() => {
        // Reported through 'refreshFailed' and retried by onFailure.
      });
    }, delayMs);
    this.#timer.unref();
  }
}

const MIN_REFRESH_DELAY_MS = 100;

function validate(result: AccessToken): void {
  if (
    !result ||
    typeof result.token !== 'string' ||
    result.token === '' ||
    typeof result.expiresAt !== 'number'
  ) {
    throw new AuthError(
      'auth.invalid_token_response',
      'token source returned something other than { token, expiresAt }',
    );
  }
}

function fraction(value: number, name: string, positive: boolean): number {
  if (typeof value !== 'number' || !(positive ? value > 0 : value >= 0) || value > 1) {
    throw new TypeError(
      `RefreshingTokenOptions.${name} must be a number in ${positive ? '(0, 1]' : '[0, 1]'}`,
    );
  }
  return value;
}

function nonNegative(value: number, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`RefreshingTokenOptions.${name} must be a non-negative number`);
  }
  return value;
}
