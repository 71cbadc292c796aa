import { status as GrpcStatus, InterceptingCall, type Interceptor, type Metadata } from '@grpc/grpc-js';
import { Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { RefreshingToken } from '../auth/refreshing-token.js';
import { TemporalConnectError } from './errors.js';
import { loadTlsConfig, type TlsOptions } from './tls.js';

export interface ConnectOptions {
  /** `host:port` of the Temporal frontend. */
  address: string;
  /** mTLS material. */
  tls: TlsOptions;
  /** Supplies the JWT sent as `authorization: Bearer …` on every call. */
  token: RefreshingToken;
}

/**
 * A worker `NativeConnection` that always carries a fresh token: the first connect waits for a token,
 * and every refresh is pushed with `setApiKey` (not `setMetadata`, which would drop other headers).
 */
export async function connectWorker(options: ConnectOptions): Promise<NativeConnection> {
  validate(options, 'connectWorker');
  const tls = await loadTlsConfig(options.tls);
  const apiKey = await options.token.get();
  const connection = await NativeConnection.connect({ address: options.address, tls, apiKey }).catch(
    (err: unknown) => {
      throw connectError(options.address, err, tls.clientCertPair !== undefined);
    },
  );
  const onRefreshed = ({ token }: { token: string }) => {
    connection.setApiKey(token).catch(() => {
      // The connection was closed: it needs no more tokens.
      options.token.off('refreshed', onRefreshed);
    });
  };
  options.token.on('refreshed', onRefreshed);
  return connection;
}

/**
 * A client `Connection` whose interceptor puts the current token on every call. It runs after
 * Temporal's retry interceptor, so every retry attempt carries the newest token.
 */
export async function connectClient(options: ConnectOptions): Promise<Connection> {
  validate(options, 'connectClient');
  const tls = await loadTlsConfig(options.tls);
  await options.token.get();
  return Connection.connect({
    address: options.address,
    tls,
    interceptors: [
      makeGrpcRetryInterceptor(defaultGrpcRetryOptions()),
      bearerTokenInterceptor(options.token),
    ],
  }).catch((err: unknown) => {
    throw connectError(options.address, err, tls.clientCertPair !== undefined);
  });
}

/**
 * Attaches `authorization: Bearer <token>` per call attempt. When nothing valid is cached it waits for
 * the refresh in flight instead of sending a call bound to fail; when the server still says
 * PermissionDenied/Unauthenticated it forces a refresh so the next attempt has a new token.
 */
export function bearerTokenInterceptor(token: RefreshingToken): Interceptor {
  return (callOptions, nextCall) =>
    new InterceptingCall(nextCall(callOptions), {
      start(metadata: Metadata, _listener, next) {
        const send = (value: string | undefined) => {
          if (value !== undefined) metadata.set('authorization', `Bearer ${value}`);
          next(metadata, {
            onReceiveStatus(status, nextStatus) {
              if (
                status.code === GrpcStatus.PERMISSION_DENIED ||
                status.code === GrpcStatus.UNAUTHENTICATED
              ) {
                token.refresh().catch(() => {
                  // Reported through the token's 'refreshFailed' event.
                });
              }
              nextStatus(status);
            },
          });
        };
        const current = token.current();
        if (current !== undefined) send(current);
        else token.get().then(send, () => send(undefined));
      },
    });
}

function validate(options: ConnectOptions, fn: string): void {
  if (!options || typeof options.address !== 'string' || !/^[^:]+:\d+$/.test(options.address)) {
    throw new TypeError(`${fn}: options.address must be "host:port"`);
  }
  if (!options.tls) throw new TypeError(`${fn}: options.tls is required (mTLS material)`);
  if (!options.token || typeof options.token.get !== 'function') {
    throw new TypeError(`${fn}: options.token must be a RefreshingToken`);
  }
}

/**
 * Turns the SDK's connect failure into one that says which layer most likely failed and what to check.
 * With TLS 1.3 a server that rejects the client certificate simply closes the connection after the
 * handshake, so the client only sees "connection closed"; whether a certificate was configured is
 * what tells the cases apart.
 */
export function connectError(
  address: string,
  err: unknown,
  clientCertConfigured: boolean,
): TemporalConnectError {
  const detail = (err as Error)?.message ?? String(err);
  const closed = /connection closed|broken pipe|stream closed|cancel|before the deadline|reset|eof/i.test(
    detail,
  );
  const tlsWords = /certificate|handshake|tls|ssl|unknown ca|bad ?cert/i.test(detail);
  let hint: string;
  if (!clientCertConfigured && (closed || tlsWords)) {
    hint =
      'the TLS handshake failed: no client certificate was configured and the server requires one (mTLS); ' +
      'set clientCertPath and clientKeyPath (or clientCert/clientKey)';
  } else if (tlsWords || closed) {
    hint =
      'the TLS handshake failed or the server closed the connection: check that the client certificate is signed ' +
      'by a CA the server trusts and not expired, and that caCertPath/serverName match the server certificate';
  } else {
    hint = 'check the address, that the server is running, and the TLS settings';
  }
  return new TemporalConnectError(
    'temporal.connect_failed',
    `cannot connect to Temporal at ${address}: ${hint} (${detail})`,
    {
      cause: err,
    },
  );
}
