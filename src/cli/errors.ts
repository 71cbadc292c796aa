import { TokenRelayError } from '../errors.js';

export type CliErrorCode =
  /** A token file, variable or stdin could not be read or held no token. */
  | 'cli.token_input_invalid'
  /** Options that contradict each other or are missing. */
  | 'cli.invalid_argument'
  /** The workflow does not exist in the namespace. */
  | 'cli.workflow_not_found'
  /** The token failed validation (the message names the check). */
  | 'cli.token_invalid';

export class CliError extends TokenRelayError {
  declare readonly code: CliErrorCode;
}

/**
 * One table of exit codes for every command, so scripts can tell cases apart: 0 done, 1 unexpected
 * failure or refused by a service, 2 bad input, 3 not found, 4 conflicts with the current state, 5
 * locked by another process, 6 the token is invalid.
 */
export function exitCodeFor(code: string): number {
  if (code === 'cli.token_invalid') return 6;
  if (/(^|\.)(invalid_argument|token_input_invalid)$/.test(code)) return 2;
  if (/not_found$/.test(code)) return 3;
  if (/(_exists|key_revoked)$/.test(code)) return 4;
  if (/lock_timeout$/.test(code)) return 5;
  return 1;
}
