import { TokenRelayError } from '../errors.js';

/** Error codes of RFC 6749 §5.2, the ones a client of `POST /oauth/token` can act on. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope';

const statusByCode: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
};

/**
 * A token request the issuer refuses. Rendered as `{ error, error_description }` with the status
 * RFC 6749 §5.2 prescribes; `description` is safe to show (no secret, no hint which credential part
 * was wrong).
 */
export class OAuthError extends TokenRelayError {
  readonly error: OAuthErrorCode;
  readonly status: number;

  constructor(error: OAuthErrorCode, description: string) {
    super(`issuer.${error}`, description);
    this.error = error;
    this.status = statusByCode[error];
  }
}

/** A request the issuer refuses outside the OAuth2 vocabulary (size, content type, method, path). */
export class IssuerHttpError extends TokenRelayError {
  readonly status: number;

  constructor(status: number, code: string, message: string) {
    super(`issuer.${code}`, message);
    this.status = status;
  }
}

/** Too many failed authentications from this client IP or for this key id; retry after the delay. */
export class RateLimitedError extends IssuerHttpError {
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number) {
    super(429, 'rate_limited', `too many failed authentication attempts; retry after ${retryAfterSeconds} s`);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The issuer's configuration or state on disk is unusable. */
export class IssuerConfigError extends TokenRelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('issuer.invalid_config', message, options);
  }
}

/** Codes of {@link IssuerStateError}: what an operator command (CLI or library) could not do. */
export type IssuerStateErrorCode =
  | 'issuer.app_not_found'
  | 'issuer.app_exists'
  | 'issuer.key_not_found'
  | 'issuer.key_revoked'
  /** Only a revoked key may be deleted: revoke it first (with a reason), so the record says why. */
  | 'issuer.key_not_revoked'
  | 'issuer.invalid_argument'
  | 'issuer.lock_timeout'
  | 'issuer.lock_failed'
  | 'issuer.state_unreadable';

/**
 * An operation on the issuer's state (applications, access keys, signing keys) was refused. `code`
 * says why, so the CLI can map it to an exit code and callers can `switch (err.code)`.
 */
export class IssuerStateError extends TokenRelayError {
  declare readonly code: IssuerStateErrorCode;

  constructor(code: IssuerStateErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
