import { status as GrpcStatus } from '@grpc/grpc-js';
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

/**
 * Whether a gRPC failure is Temporal's "no poller seen for task queue recently, worker may be down":
 * FAILED_PRECONDITION (9), which the server answers at once to a query once it noticed that a task
 * queue's pollers are gone (before that, the same query runs into its deadline). `said` is whatever
 * carries the server's words: the status details, or an error message wrapping them.
 */
export function isNoPollerSeen(grpcCode: unknown, said: string): boolean {
  return grpcCode === GrpcStatus.FAILED_PRECONDITION && /no poller seen/i.test(said);
}

/**
 * Whether a call that failed with `grpcCode` ran out of its `deadline` (epoch ms). grpc-js says
 * DEADLINE_EXCEEDED (4) when its own timer fires first. The server holds the same deadline (the
 * `grpc-timeout` header, rounded up), and when its timer fires first it resets the stream with CANCEL,
 * which grpc-js reports as CANCELLED (1) "Call cancelled". A busy client loses that race (seen under
 * load), so a CANCELLED the caller did not ask for counts once the deadline has passed.
 */
export function ranOutOfDeadline(grpcCode: unknown, deadline: number, now: number = Date.now()): boolean {
  return grpcCode === GrpcStatus.DEADLINE_EXCEEDED || (grpcCode === GrpcStatus.CANCELLED && now >= deadline);
}

/**
 * The gRPC status (code and the server's words) of a failed call, however deeply the Temporal client
 * wrapped it (`ServiceError` → cause), or undefined when the failure is not a gRPC status.
 */
export function grpcStatusOf(err: unknown): { code: number; details: string } | undefined {
  let e = err as { code?: unknown; details?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && typeof e === 'object' && depth < 5; depth++, e = e.cause as typeof e) {
    if (typeof e.code === 'number' && (typeof e.details === 'string' || 'metadata' in e)) {
      return { code: e.code, details: typeof e.details === 'string' ? e.details : '' };
    }
  }
  return undefined;
}
