import { TokenRelayError } from '../errors.js';

export type CodecErrorCode =
  /** An encrypted payload names a key id the codec was not given: add the old key to `keys`. */
  | 'codec.unknown_key'
  /** Authentication failed: the payload was tampered with or encrypted under another key with this id. */
  | 'codec.decrypt_failed'
  /** An encrypted payload whose bytes are not in the codec's format (truncated or foreign). */
  | 'codec.malformed_payload';

/** A payload the codec cannot decode. Messages name the key id, never key material or payload data. */
export class CodecError extends TokenRelayError {
  declare readonly code: CodecErrorCode;
}
