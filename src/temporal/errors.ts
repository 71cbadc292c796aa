import { TokenRelayError } from '../errors.js';

export type TemporalConnectErrorCode =
  /** A TLS file could not be read. */
  | 'temporal.tls_file_unreadable'
  /** The client certificate and key are not PEM or do not belong together. */
  | 'temporal.tls_material_invalid'
  /** The Temporal CLI configuration (temporal.toml / TEMPORAL_* env) could not be read. */
  | 'temporal.config_invalid'
  /** Connecting failed; the message says whether TLS, the address or authorization is the likely cause. */
  | 'temporal.connect_failed'
  /**
   * The connection and TLS worked, but the server refused the token (PermissionDenied or
   * Unauthenticated); the message lists what to check: audience, permissions, signing key, expiry.
   */
  | 'temporal.token_rejected';

export class TemporalConnectError extends TokenRelayError {
  declare readonly code: TemporalConnectErrorCode;
  /**
   * For `temporal.connect_failed`: what a TLS handshake probe found (`client_certificate_expired`, …).
   * For `temporal.token_rejected`: `permission_denied` or `unauthenticated`.
   */
  readonly reason: string | undefined;

  constructor(
    code: TemporalConnectErrorCode,
    message: string,
    options: { cause?: unknown; reason?: string } = {},
  ) {
    super(code, message, { cause: options.cause });
    this.reason = options.reason;
  }
}
