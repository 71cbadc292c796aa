import { TokenRelayError } from '../errors.js';

export type CodecServerErrorCode =
  /** No `Authorization: Bearer <jwt>`, or the JWT failed a check (the response names which one). */
  | 'codec_server.unauthenticated'
  /** The JWT is valid but its permissions do not cover the operation in the namespace. */
  | 'codec_server.forbidden'
  /** The body is not `{ "payloads": [...] }` in Temporal's JSON form, or X-Namespace is not a name. */
  | 'codec_server.invalid_request'
  /** The body is larger than the configured limit. */
  | 'codec_server.body_too_large'
  /** The body is not `application/json`. */
  | 'codec_server.unsupported_media_type'
  | 'codec_server.not_found'
  | 'codec_server.method_not_allowed'
  /** The body did not arrive within the request timeout. */
  | 'codec_server.request_timeout'
  /** The issuer's JWKS could not be fetched, so no token can be checked right now. */
  | 'codec_server.jwks_unavailable'
  /** Options the server cannot start with (no keys, no issuer, a bad CORS origin). */
  | 'codec_server.invalid_argument'
  /** The port is taken or the host cannot be bound. */
  | 'codec_server.listen_failed';

const statusOf: Partial<Record<CodecServerErrorCode, number>> = {
  'codec_server.unauthenticated': 401,
  'codec_server.forbidden': 403,
  'codec_server.invalid_request': 400,
  'codec_server.body_too_large': 413,
  'codec_server.unsupported_media_type': 415,
  'codec_server.not_found': 404,
  'codec_server.method_not_allowed': 405,
  'codec_server.request_timeout': 408,
  'codec_server.jwks_unavailable': 503,
};

/**
 * A refused codec-server request (`status` is its HTTP status) or a server that cannot start.
 * Messages never contain the bearer token, key material or payload data.
 */
export class CodecServerError extends TokenRelayError {
  declare readonly code: CodecServerErrorCode;
  /** The HTTP status the refusal is answered with; 500 for codes that are not about a request. */
  readonly status: number;
  /** For `unauthenticated`: the token check that failed (`token.expired`, `missing_token`, …). */
  readonly reason: string | undefined;

  constructor(code: CodecServerErrorCode, message: string, options?: { cause?: unknown; reason?: string }) {
    super(code, message, options);
    this.status = statusOf[code] ?? 500;
    this.reason = options?.reason;
  }
}
