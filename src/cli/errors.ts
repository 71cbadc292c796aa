import { TokenRelayError } from '../errors.js';

export type CliErrorCode =
  /** A token file, variable or stdin could not be read or held no token. */
  | 'cli.token_input_invalid'
  /** Options that contradict each other or are missing. */
  | 'cli.invalid_argument'
  /** The workflow does not exist in the namespace. */
  | 'cli.workflow_not_found'
  /** The token failed validation (the message names the check). */
  | 'cli.token_invalid'
  /** `token rotate` on a workflow that has a parent in its tree, without `--force`. */
  | 'cli.not_root'
  /** `token tree`: an opted-in workflow still lags its parent, or did not answer, after the wait. */
  | 'cli.tree_not_settled';

export class CliError extends TokenRelayError {
  declare readonly code: CliErrorCode;
}

/**
 * One table of exit codes for every command, so scripts can tell cases apart: 0 done, 1 unexpected
 * failure or refused by a service, 2 bad input (also: a token that would travel unencrypted), 3 not
 * found, 4 conflicts with the current state (also: rotating a non-root without --force), 5
 * locked by another process, 6 the token is invalid (or a JWT already expired), 7 a workflow tree has
 * not settled (a node lags its parent or does not answer).
 */
export function exitCodeFor(code: string): number {
  if (code === 'cli.token_invalid' || code === 'apitoken.expired') return 6;
  if (code === 'cli.tree_not_settled') return 7;
  if (code === 'cli.not_root' || code === 'apitoken.not_root') return 4;
  // Refused locally until the input changes: configure a codec or say --allow-plaintext-token.
  if (code === 'apitoken.plaintext_refused' || code === 'tree.invalid_option') return 2;
  if (/(^|\.)(invalid_argument|token_input_invalid)$/.test(code)) return 2;
  if (/not_found$/.test(code)) return 3;
  if (/(_exists|key_revoked)$/.test(code)) return 4;
  if (/lock_timeout$/.test(code)) return 5;
  return 1;
}
