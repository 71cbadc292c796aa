import { TokenRelayError } from '../../errors.js';

export type RotationErrorCode =
  /** A schedule option is missing, out of range or contradicts another. */
  | 'rotation.invalid_option'
  /** The interval is too long for the token's lifetime: one missed rotation would let tokens expire. */
  | 'rotation.interval_too_long'
  /** No schedule with that id in the namespace. */
  | 'rotation.schedule_not_found'
  /** A schedule with that id exists already. */
  | 'rotation.schedule_exists';

/** A rotation schedule that cannot be created or found. Messages never contain a token. */
export class RotationError extends TokenRelayError {
  declare readonly code: RotationErrorCode;
}
