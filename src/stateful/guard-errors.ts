import { TokenRelayError } from '../errors.js';

export type ApiTokenGuardErrorCode =
  /** The client would send a token through a data converter that does not encrypt it. */
  | 'apitoken.plaintext_refused'
  /** The token is a JWT whose `exp` already passed: sending it would only break every API call. */
  | 'apitoken.expired'
  /** Asked to refuse, and the target is a child in a StatefulWorkflow tree, not its root. */
  | 'apitoken.not_root';

/**
 * A token refused before anything was sent. Node-side only (the workflow sandbox never sends tokens
 * through a client). Messages name the workflow, the codec or the expiry time, never the token.
 */
export class ApiTokenGuardError extends TokenRelayError {
  declare readonly code: ApiTokenGuardErrorCode;
}
