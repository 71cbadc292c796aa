import { TokenRelayError } from '../errors.js';

export type StatefulErrorCode =
  /** The workflow behind an activity holds no apiToken yet; retrying once a token arrived can succeed. */
  | 'stateful.no_api_token'
  /** The workflow behind an activity could not be asked for its token (not running, no worker, …). */
  | 'stateful.workflow_unreachable'
  /** Called outside what the helper needs (for example an activity helper outside an activity). */
  | 'stateful.wrong_context';

/**
 * A failure of the apiToken machinery. Messages name the workflow and what was wrong, never the token.
 * This module is sandbox-safe: workflow code may import it.
 */
export class StatefulError extends TokenRelayError {
  declare readonly code: StatefulErrorCode;
}
