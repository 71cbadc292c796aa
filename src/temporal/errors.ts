import { TokenRelayError } from '../errors.js';

export type TemporalConnectErrorCode =
  /** A TLS file could not be read. */
  | 'temporal.tls_file_unreadable'
  /** Connecting failed; the message says whether TLS, the address or authorization is the likely cause. */
  | 'temporal.connect_failed';

export class TemporalConnectError extends TokenRelayError {
  declare readonly code: TemporalConnectErrorCode;
}
