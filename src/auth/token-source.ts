import { inspect } from 'node:util';
import { AuthError } from './errors.js';

/** A token and the local time (ms since epoch, this machine's clock) after which it must not be used. */
export interface AccessToken {
  token: string;
  expiresAt: number;
}

/** Anything that can produce a fresh token: the built-in sources or your own. */
export interface TokenSource {
  getToken(): Promise<AccessToken>;
}

export type TokenSourceLike = TokenSource | (() => Promise<AccessToken>);

export function toTokenSource(source: TokenSourceLike): TokenSource {
  if (typeof source === 'function') return { getToken: source };
  if (source && typeof source.getToken === 'function') return source;
  throw new TypeError(
    'token source must be a TokenSource or a function returning Promise<{ token, expiresAt }>',
  );
}

/** A fixed token, for tests and for long-lived credentials managed elsewhere. */
export class StaticTokenSource implements TokenSource {
  // `#private`: unlike TypeScript's `private`, invisible to JSON.stringify, spread and inspection.
  readonly #value: AccessToken;

  constructor(token: string, expiresAt: number = Number.POSITIVE_INFINITY) {
    if (typeof token !== 'string' || token === '')
      throw new TypeError('StaticTokenSource: token must be a non-empty string');
    this.#value = { token, expiresAt };
  }

  async getToken(): Promise<AccessToken> {
    return { ...this.#value };
  }

  /** What `JSON.stringify` shows: the expiry, never the token. */
  toJSON(): Record<string, unknown> {
    const { expiresAt } = this.#value;
    return { type: 'StaticTokenSource', expiresAt: Number.isFinite(expiresAt) ? expiresAt : null };
  }

  [inspect.custom](): string {
    return `StaticTokenSource ${inspect(this.toJSON())}`;
  }
}

/** Wraps an unknown failure of a custom source so callers always see an AuthError. */
export function asAuthError(err: unknown): AuthError {
  if (err instanceof AuthError) return err;
  return new AuthError(
    'auth.token_source_failed',
    `token source failed: ${(err as Error)?.message ?? String(err)}`,
    {
      cause: err,
    },
  );
}
