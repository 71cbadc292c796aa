import {
  type CallOptions,
  status as GrpcStatus,
  InterceptingCall,
  type InterceptingListener,
  type Interceptor,
  Metadata,
  type StatusObject,
} from '@grpc/grpc-js';
import { defaultGrpcRetryOptions, type GrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { RefreshingToken } from '../auth/refreshing-token.js';
import { asAuthError } from '../auth/token-source.js';

export interface AuthInterceptorOptions {
  /** Supplies the token for every call attempt. */
  token: RefreshingToken;
  /** Temporal's retry policy for transient failures. Default: `defaultGrpcRetryOptions()`. */
  retry?: GrpcRetryOptions;
  /**
   * Called whenever the server refuses a call with PermissionDenied or Unauthenticated, before the
   * one retry with a refreshed token (if any). For metrics and alerting; never given the token.
   */
  onRejected?: (event: AuthRejectedEvent) => void;
}

export interface AuthRejectedEvent {
  /** The gRPC method, e.g. `/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution`. */
  method: string;
  code: 'PERMISSION_DENIED' | 'UNAUTHENTICATED';
  /** Whether the call is tried once more with a different token. */
  retrying: boolean;
}

/**
 * The interceptors a client `Connection` needs to authenticate every call: Temporal's retry
 * interceptor, then one that attaches `authorization: Bearer <token>` to each attempt. The order
 * matters — the retry interceptor creates a fresh inner call per attempt, so every attempt carries the
 * newest token. A call refused with PermissionDenied/Unauthenticated is retried once, with no delay,
 * when a different token can be had (the old one expired or was revoked in between); a refusal of a
 * fresh token is passed straight on, since a new token would not change the answer.
 *
 * When no valid token can be obtained the call fails with UNAUTHENTICATED and a message naming the
 * `auth.*` error code, instead of going out without a header.
 *
 * @example
 * const connection = await Connection.connect({ address, tls, interceptors: authInterceptors({ token }) });
 */
export function authInterceptors(options: AuthInterceptorOptions): Interceptor[] {
  const retry = options.retry ?? defaultGrpcRetryOptions();
  // Statuses our interceptor has vouched for: a different token is ready, so one retry is worth it.
  const retryWithNewToken = new WeakSet<StatusObject>();
  const retryOptions: GrpcRetryOptions = {
    retryableDecider: (attempt, status) =>
      retryWithNewToken.has(status) || retry.retryableDecider(attempt, status),
    delayFunction: (attempt, status) =>
      retryWithNewToken.has(status) ? 0 : retry.delayFunction(attempt, status),
  };
  return [
    makeGrpcRetryInterceptor(retryOptions),
    bearerTokenInterceptor(options.token, {
      onRejected: options.onRejected,
      markRetry: (status) => retryWithNewToken.add(status),
    }),
  ];
}

interface BearerOptions {
  onRejected?: ((event: AuthRejectedEvent) => void) | undefined;
  /** Tells the outer retry interceptor that `status` deserves one more attempt. */
  markRetry?: (status: StatusObject) => void;
}

/**
 * Attaches `authorization: Bearer <token>` to one call attempt. Prefer {@link authInterceptors}, which
 * pairs it with the retry interceptor; alone, it still refreshes a rejected token for the next call.
 */
export function bearerTokenInterceptor(token: RefreshingToken, options: BearerOptions = {}): Interceptor {
  // The retry interceptor passes the same CallOptions object to every attempt of one call, which
  // makes it the key for "this call already had its auth retry".
  const authRetried = new WeakSet<CallOptions>();
  return (callOptions, nextCall) => {
    const method = (callOptions as CallOptions & { method_definition?: { path?: string } }).method_definition
      ?.path;
    let inner: ReturnType<typeof nextCall>;
    try {
      inner = nextCall(callOptions);
    } catch (err) {
      // Temporal's retry interceptor schedules attempts on a timer; one that fires after
      // `connection.close()` finds the channel shut down, and grpc-js throws from nextCall. Thrown
      // there it escapes every caller as an uncaught exception: fail this call instead.
      return failedCall(err);
    }
    return new InterceptingCall(inner, {
      start(metadata, listener, next) {
        const send = (value: string) => {
          metadata.set('authorization', `Bearer ${value}`);
          next(metadata, {
            onReceiveStatus(status, nextStatus) {
              if (
                status.code !== GrpcStatus.PERMISSION_DENIED &&
                status.code !== GrpcStatus.UNAUTHENTICATED
              ) {
                nextStatus(status);
                return;
              }
              const code =
                status.code === GrpcStatus.PERMISSION_DENIED ? 'PERMISSION_DENIED' : 'UNAUTHENTICATED';
              const canRetry = options.markRetry !== undefined && !authRetried.has(callOptions);
              token.refreshRejected(value).then((fresh) => {
                const retrying = canRetry && fresh !== undefined;
                options.onRejected?.({ method: method ?? 'unknown', code, retrying });
                if (retrying) {
                  authRetried.add(callOptions);
                  options.markRetry?.(status);
                }
                nextStatus(status);
              });
            },
          });
        };
        const current = token.current();
        if (current !== undefined) {
          send(current);
          return;
        }
        token.get().then(send, (err: unknown) => {
          const error = asAuthError(err);
          // The call never goes out (a header-less call would only earn a vaguer PermissionDenied):
          // release the unstarted inner call's deadline timer and fail with a status that says why.
          inner.cancelWithStatus(GrpcStatus.CANCELLED, 'no token');
          // A unary call always hands its listener a message, null on failure, before the status;
          // interceptors above (Temporal's retry interceptor) rely on that order.
          listener.onReceiveMessage(null);
          listener.onReceiveStatus({
            code: GrpcStatus.UNAUTHENTICATED,
            details: `tokenrelay could not obtain a token [${error.code}]: ${error.message}`,
            metadata: new Metadata(),
          });
        });
      },
    });
  };
}

/**
 * A call that never went out: it answers `start` with CANCELLED (not retryable, so the retry
 * interceptor above gives up at once) and a message naming why.
 */
function failedCall(err: unknown): InterceptingCall {
  const reason = err instanceof Error ? err.message : String(err);
  // grpc-js does not export the interface InterceptingCall wraps; its constructor parameter names it.
  const call: ConstructorParameters<typeof InterceptingCall>[0] = {
    start(_metadata: Metadata, listener?: Partial<InterceptingListener>) {
      queueMicrotask(() => {
        // A unary listener expects a (null) message before the status, as in the no-token path.
        listener?.onReceiveMessage?.(null);
        listener?.onReceiveStatus?.({
          code: GrpcStatus.CANCELLED,
          details: `the call could not start: ${reason} (was the connection closed?)`,
          metadata: new Metadata(),
        });
      });
    },
    cancelWithStatus() {},
    getPeer: () => 'unknown',
    sendMessageWithContext() {},
    sendMessage() {},
    startRead() {},
    halfClose() {},
    getAuthContext: () => null,
  };
  return new InterceptingCall(call);
}
