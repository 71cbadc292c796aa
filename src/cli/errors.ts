import { status as GrpcStatus } from '@grpc/grpc-js';
import { TokenRelayError } from '../errors.js';
import { grpcStatusOf, isNoPollerSeen } from '../temporal/errors.js';

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
  | 'cli.tree_not_settled'
  /** The workflow answers none of the apiToken queries: it is not a StatefulWorkflow. */
  | 'cli.not_stateful_workflow'
  /** An answer is encrypted (`binary/encrypted`) and the command has no codec: set TOKENRELAY_CODEC_KEYS. */
  | 'cli.codec_missing'
  /** Temporal refused the call for its token (PermissionDenied / Unauthenticated). */
  | 'cli.permission_denied'
  /** No answer in time: for a query, no worker is polling the workflow's task queue (or it is stuck). */
  | 'cli.timeout'
  /** Temporal knows no worker has polled the workflow's task queue lately (a query cannot be answered). */
  | 'cli.no_worker'
  /** Temporal could not be reached (UNAVAILABLE). */
  | 'cli.unavailable'
  /** Temporal answered NOT_FOUND (a namespace, a workflow, a task queue). */
  | 'cli.not_found'
  /** The thing to create exists already (a workflow id in use, say). */
  | 'cli.already_exists'
  /** Temporal refused the call in the workflow's current state (FAILED_PRECONDITION). */
  | 'cli.failed_precondition'
  /** Anything else: a bug or an error without a code; the message says what happened. */
  | 'cli.unexpected';

export class CliError extends TokenRelayError {
  declare readonly code: CliErrorCode;
}

/** What each exit status means. Every command ends with one of these. */
export const EXIT_STATUS = {
  done: 0,
  /** Failed, refused by a service, or no answer in time. */
  failed: 1,
  /** Bad input: arguments, files, configuration; fix it and run again. */
  badInput: 2,
  notFound: 3,
  /** Conflicts with the current state (exists already, not the root, revoked, port in use). */
  conflict: 4,
  /** Locked by another process: try again shortly. */
  locked: 5,
  /** The token is invalid (or a JWT already expired). */
  tokenInvalid: 6,
  /** A workflow tree has not settled: a node lags its parent or does not answer. */
  treeNotSettled: 7,
} as const;

const { failed, badInput, notFound, conflict, locked, tokenInvalid, treeNotSettled } = EXIT_STATUS;

/**
 * The one table from error code to exit status, for every code tokenrelay throws; a unit test checks
 * that every code declared in the sources is here. Codes missing from it (a newer library part, say)
 * exit {@link EXIT_STATUS.failed}.
 */
export const EXIT_STATUS_BY_CODE: Readonly<Record<string, number>> = {
  'cli.token_input_invalid': badInput,
  'cli.invalid_argument': badInput,
  'cli.workflow_not_found': notFound,
  'cli.token_invalid': tokenInvalid,
  'cli.not_root': conflict,
  'cli.tree_not_settled': treeNotSettled,
  'cli.not_stateful_workflow': badInput,
  'cli.codec_missing': badInput,
  'cli.permission_denied': failed,
  'cli.timeout': failed,
  'cli.no_worker': failed,
  'cli.unavailable': failed,
  'cli.not_found': notFound,
  'cli.already_exists': conflict,
  'cli.failed_precondition': conflict,
  'cli.unexpected': failed,

  'auth.token_endpoint_unreachable': failed,
  'auth.token_endpoint_rejected': failed,
  'auth.token_endpoint_failed': failed,
  'auth.invalid_token_response': failed,
  'auth.token_not_jwt': failed,
  'auth.token_source_failed': failed,
  'auth.stopped': failed,

  'temporal.tls_file_unreadable': badInput,
  'temporal.tls_material_invalid': badInput,
  'temporal.config_invalid': badInput,
  'temporal.connect_failed': failed,
  'temporal.token_rejected': failed,

  'token.malformed': tokenInvalid,
  'token.missing_kid': tokenInvalid,
  'token.alg_not_allowed': tokenInvalid,
  'token.unknown_kid': tokenInvalid,
  'token.bad_signature': tokenInvalid,
  'token.expired': tokenInvalid,
  'token.not_yet_valid': tokenInvalid,
  'token.wrong_audience': tokenInvalid,
  'token.wrong_issuer': tokenInvalid,
  'token.missing_claim': tokenInvalid,
  'token.invalid_claim': tokenInvalid,
  'token.jwks_unavailable': failed,

  'issuer.app_not_found': notFound,
  'issuer.app_exists': conflict,
  'issuer.key_not_found': notFound,
  'issuer.key_revoked': conflict,
  'issuer.key_not_revoked': conflict,
  'issuer.invalid_argument': badInput,
  'issuer.lock_timeout': locked,
  'issuer.lock_failed': failed,
  'issuer.state_unreadable': failed,
  'issuer.invalid_config': badInput,
  // OAuth2 refusals (RFC 6749 §5.2) and HTTP-level refusals are answers of the issuer's endpoint;
  // a command that meets one was refused by a service.
  'issuer.invalid_request': failed,
  'issuer.invalid_client': failed,
  'issuer.invalid_grant': failed,
  'issuer.unauthorized_client': failed,
  'issuer.unsupported_grant_type': failed,
  'issuer.invalid_scope': failed,

  'devstack.go_missing': failed,
  'devstack.build_failed': failed,
  'devstack.port_in_use': conflict,
  'devstack.start_failed': failed,
  'devstack.not_running': notFound,
  'devstack.invalid_state': conflict,

  'codec.unknown_key': badInput,
  'codec.decrypt_failed': failed,
  'codec.malformed_payload': failed,

  'codec_server.unauthenticated': failed,
  'codec_server.forbidden': failed,
  'codec_server.invalid_request': badInput,
  'codec_server.body_too_large': badInput,
  'codec_server.unsupported_media_type': badInput,
  'codec_server.not_found': notFound,
  'codec_server.method_not_allowed': badInput,
  'codec_server.request_timeout': failed,
  'codec_server.jwks_unavailable': failed,
  'codec_server.invalid_argument': badInput,
  'codec_server.listen_failed': conflict,

  'stateful.no_api_token': notFound,
  'stateful.workflow_unreachable': failed,
  'stateful.wrong_context': failed,

  // Refused locally until the input changes: configure a codec or say --allow-plaintext-token.
  'apitoken.plaintext_refused': badInput,
  'apitoken.expired': tokenInvalid,
  'apitoken.not_root': conflict,

  'rotation.invalid_option': badInput,
  'rotation.interval_too_long': badInput,
  'rotation.schedule_not_found': notFound,
  'rotation.schedule_exists': conflict,

  'tree.workflow_not_found': notFound,
  'tree.too_large': failed,
  'tree.invalid_option': badInput,
};

/**
 * The exit status for an error code, from {@link EXIT_STATUS_BY_CODE}: 0 done, 1 failed or refused
 * by a service, 2 bad input, 3 not found, 4 conflicts with the current state, 5 locked by another
 * process, 6 the token is invalid, 7 a workflow tree has not settled.
 */
export function exitCodeFor(code: string): number {
  return EXIT_STATUS_BY_CODE[code] ?? failed;
}

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  details?: unknown;
  cause?: unknown;
  workflowId?: unknown;
}

/**
 * Any failure as a typed error with a code, so every command ends the same way: `error [code]:
 * message` and the table's exit status. tokenrelay's own errors pass through; Temporal's and gRPC's
 * (a query no worker answered, a workflow without the query, a refused token, an answer the command
 * cannot decrypt) become CliErrors that say what to do; anything else is `cli.unexpected`.
 */
export function toCliError(err: unknown): TokenRelayError {
  if (err instanceof TokenRelayError) return err;
  // Errors from a second copy of tokenrelay (dist and source in one process) still carry a code.
  const e = (err ?? {}) as ErrorLike;
  const message = clip(typeof e.message === 'string' ? e.message : String(err));
  const name = typeof e.name === 'string' ? e.name : '';
  if (typeof e.code === 'string' && /^[a-z_]+\.[a-z_]+$/.test(e.code) && name.endsWith('Error')) {
    const copy = new TokenRelayError(e.code, message, { cause: err });
    copy.name = name;
    return copy;
  }
  if (name === 'WorkflowNotFoundError') {
    const id = typeof e.workflowId === 'string' ? e.workflowId : undefined;
    return new CliError(
      'cli.workflow_not_found',
      id ? `no workflow ${id} in this namespace` : `workflow not found: ${message}`,
      { cause: err },
    );
  }
  if (name === 'QueryNotRegisteredError') {
    return new CliError(
      'cli.not_stateful_workflow',
      `the workflow does not answer this query, so it is not a StatefulWorkflow (from tokenrelay/workflow), ` +
        `or its worker runs code without it; the server said: ${message}`,
      { cause: err },
    );
  }
  if (name === 'WorkflowExecutionAlreadyStartedError') {
    return new CliError('cli.already_exists', `${message}; choose another --workflow-id`, { cause: err });
  }
  if (/unknown encoding: binary\/encrypted/i.test(chainText(err))) {
    return new CliError(
      'cli.codec_missing',
      'the answer is encrypted (binary/encrypted) and this command has no codec to decrypt it: set ' +
        'TOKENRELAY_CODEC_KEYS to the codec keys the workers use (id:base64,…; on the dev stack they are in ' +
        'dev.json, which commands use when no connection flags are given)',
      { cause: err },
    );
  }
  const grpc = grpcStatusOf(err);
  if (grpc) return fromGrpcStatus(grpc, err);
  return new CliError('cli.unexpected', message, { cause: err });
}

function fromGrpcStatus(grpc: { code: number; details: string }, err: unknown): CliError {
  const said = grpc.details ? ` (${clip(grpc.details)})` : '';
  switch (grpc.code) {
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new CliError(
        'cli.timeout',
        `no answer in time${said}. For a query this means no worker is polling the workflow's task queue ` +
          '(or it is stuck): start its worker (for the reference app: `tokenrelay worker`) and try again',
        { cause: err },
      );
    case GrpcStatus.UNAVAILABLE:
      return new CliError(
        'cli.unavailable',
        `Temporal is not reachable${said}: check the address and that the server is running (\`tokenrelay dev status\`)`,
        { cause: err },
      );
    case GrpcStatus.PERMISSION_DENIED:
    case GrpcStatus.UNAUTHENTICATED:
      return new CliError(
        'cli.permission_denied',
        `Temporal refused the call for its token (${grpc.code === GrpcStatus.PERMISSION_DENIED ? 'PermissionDenied' : 'Unauthenticated'})${said}: ` +
          'the token’s permissions do not cover it; on the dev stack choose another identity with --dev-app',
        { cause: err },
      );
    case GrpcStatus.NOT_FOUND:
      return new CliError('cli.not_found', `not found${said}`, { cause: err });
    case GrpcStatus.ALREADY_EXISTS:
      return new CliError('cli.already_exists', `exists already${said}`, { cause: err });
    case GrpcStatus.INVALID_ARGUMENT:
      return new CliError('cli.invalid_argument', `Temporal refused the request as invalid${said}`, {
        cause: err,
      });
    case GrpcStatus.FAILED_PRECONDITION:
      // The server says this at once for a query once it noticed the pollers are gone; before that the
      // same query runs into its deadline (cli.timeout). Both mean: start the worker.
      if (isNoPollerSeen(grpc.code, grpc.details)) {
        return new CliError(
          'cli.no_worker',
          `no worker is polling the workflow's task queue${said}: start its worker (for the reference ` +
            'app: `tokenrelay worker`) and try again',
          { cause: err },
        );
      }
      return new CliError('cli.failed_precondition', `refused in the current state${said}`, { cause: err });
    default:
      return new CliError('cli.unexpected', `Temporal call failed with gRPC status ${grpc.code}${said}`, {
        cause: err,
      });
  }
}

function chainText(err: unknown): string {
  const parts: string[] = [];
  let e = err as ErrorLike | undefined;
  for (let depth = 0; e && typeof e === 'object' && depth < 5; depth++, e = e.cause as ErrorLike) {
    if (typeof e.message === 'string') parts.push(e.message);
  }
  return parts.join(' ');
}

/** One line, bounded: messages from elsewhere can be long or span lines. */
function clip(text: string, max = 400): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
