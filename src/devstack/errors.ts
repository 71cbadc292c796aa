import { TokenRelayError } from '../errors.js';

export type DevStackErrorCode =
  | 'devstack.go_missing'
  | 'devstack.build_failed'
  | 'devstack.port_in_use'
  | 'devstack.start_failed'
  | 'devstack.not_running'
  | 'devstack.invalid_state';

/** A dev stack operation failed; the message says what to do, and log tails are included where useful. */
export class DevStackError extends TokenRelayError {
  declare readonly code: DevStackErrorCode;
}
