import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { RefreshingToken } from '../auth/refreshing-token.js';
import { type AuthRejectedEvent, authInterceptors } from './auth-interceptors.js';
import { TemporalConnectError } from './errors.js';
import { type ConnectionSettings, resolveConnectionSettings } from './settings.js';
import { loadTlsConfig } from './tls.js';

export interface ConnectOptions extends ConnectionSettings {
  /** Supplies the JWT sent as `authorization: Bearer …` on every call. */
  token: RefreshingToken;
}

export interface ConnectClientOptions extends ConnectOptions {
  /** Called when the server refuses a call's token (PermissionDenied/Unauthenticated); for metrics. */
  onAuthRejected?: (event: AuthRejectedEvent) => void;
}

/**
 * A worker `NativeConnection` that always carries a fresh token: the first connect waits for a token,
 * and every refresh is pushed with `setApiKey` (not `setMetadata`, which would drop other headers).
 * Closing the connection stops the pushes.
 *
 * @example
 * const token = new RefreshingToken({ source: new ClientCredentialsTokenSource({ tokenUrl, clientId, clientSecret }) });
 * const connection = await connectWorker({ address: 'temporal:7233', tls: { caCertPath, clientCertPath, clientKeyPath }, token });
 * const worker = await Worker.create({ connection, taskQueue: 'orders', workflowsPath, activities });
 */
export async function connectWorker(options: ConnectOptions): Promise<NativeConnection> {
  const settings = resolveConnectionSettings(options, 'connectWorker');
  requireToken(options, 'connectWorker');
  const tls = await loadTlsConfig(settings.tls);
  const apiKey = await options.token.get();
  const connection = await NativeConnection.connect({ address: settings.address, tls, apiKey }).catch(
    (err: unknown) => {
      throw connectError(settings.address, err, tls.clientCertPair !== undefined);
    },
  );
  const onRefreshed = ({ token }: { token: string }) => {
    connection.setApiKey(token).catch(() => {
      // Closed underneath us: it needs no more tokens.
      options.token.off('refreshed', onRefreshed);
    });
  };
  options.token.on('refreshed', onRefreshed);
  // A token refreshed between get() and the listener would otherwise be missed until the next one.
  const latest = options.token.current();
  if (latest !== undefined && latest !== apiKey) onRefreshed({ token: latest });
  const close = connection.close.bind(connection);
  connection.close = async () => {
    options.token.off('refreshed', onRefreshed);
    await close();
  };
  return connection;
}

/**
 * A client `Connection` whose interceptors put the current token on every call attempt (see
 * {@link authInterceptors}): retries carry the newest token, and a call refused because its token
 * went stale is retried once with a new one.
 *
 * @example
 * const connection = await connectClient({ address, tls, token });
 * const client = new Client({ connection, namespace: 'default' });
 */
export async function connectClient(options: ConnectClientOptions): Promise<Connection> {
  const settings = resolveConnectionSettings(options, 'connectClient');
  requireToken(options, 'connectClient');
  const tls = await loadTlsConfig(settings.tls);
  await options.token.get();
  return Connection.connect({
    address: settings.address,
    tls,
    interceptors: authInterceptors({
      token: options.token,
      ...(options.onAuthRejected ? { onRejected: options.onAuthRejected } : {}),
    }),
  }).catch((err: unknown) => {
    throw connectError(settings.address, err, tls.clientCertPair !== undefined);
  });
}

function requireToken(options: ConnectOptions, fn: string): void {
  const t = options.token as Partial<RefreshingToken> | undefined;
  // Duck-typed: two copies of tokenrelay in one process (dist and source) must still interoperate.
  if (typeof t?.get !== 'function' || typeof t.current !== 'function' || typeof t.on !== 'function') {
    throw new TypeError(
      `${fn}: options.token must be a RefreshingToken (wrap your token source: new RefreshingToken({ source }))`,
    );
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
