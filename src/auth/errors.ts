import { TokenRelayError } from '../errors.js';

export type AuthErrorCode =
  /** DNS, connect, TLS or timeout: the token endpoint could not be reached. */
  | 'auth.token_endpoint_unreachable'
  /** 4xx: the endpoint refused the credentials or the request (see `oauthError`). Retrying will not help. */
  | 'auth.token_endpoint_rejected'
  /** 5xx: the endpoint failed; worth retrying. */
  | 'auth.token_endpoint_failed'
  /** 2xx with a body that is not a usable token response. */
  | 'auth.invalid_token_response'
  /** A token whose expiry must come from its JWT `exp` is not a JWT with a numeric `exp`. */
  | 'auth.token_not_jwt'
  /** The token source threw something that is not an AuthError. */
  | 'auth.token_source_failed'
  /** `RefreshingToken.stop()` was called. */
  | 'auth.stopped';

/**
 * A failure to obtain a token. Messages name the endpoint and what was wrong, never the secret or the
 * token. `retryable` says whether trying again later can succeed.
 */
export class AuthError extends TokenRelayError {
  declare readonly code: AuthErrorCode;
  readonly retryable: boolean;
  /** The RFC 6749 `error` value the endpoint sent, when it sent one. */
  readonly oauthError: string | undefined;
  readonly status: number | undefined;

  constructor(
    code: AuthErrorCode,
    message: string,
    options: { cause?: unknown; retryable?: boolean; oauthError?: string; status?: number } = {},
  ) {
    super(code, message, { cause: options.cause });
    this.retryable = options.retryable ?? code !== 'auth.token_endpoint_rejected';
    this.oauthError = options.oauthError;
    this.status = options.status;
  }
}
