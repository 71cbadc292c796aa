import { Connection, type TLSConfig } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { RefreshingToken } from '../auth/refreshing-token.js';
import { type AuthRejectedEvent, authInterceptors } from './auth-interceptors.js';
import { TemporalConnectError } from './errors.js';
import { type ConnectionSettings, resolveConnectionSettings } from './settings.js';
import { loadTlsConfig } from './tls.js';
import { diagnoseTlsHandshake, type TlsFailureReason } from './tls-diagnosis.js';

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
    async (err: unknown) => {
      throw await connectError(settings.address, err, tls);
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
  }).catch(async (err: unknown) => {
    throw await connectError(settings.address, err, tls);
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
 * Turns the SDK's connect failure into one that says which layer failed and what to check. The
 * transports rarely say why a handshake failed (under TLS 1.3 a refused client certificate shows as
 * "connection closed"), so on a TLS-looking failure one plain handshake with the same material asks
 * the server: its alert names the cause (certificate required, unknown CA, expired, name mismatch).
 */
export async function connectError(
  address: string,
  err: unknown,
  tls: TLSConfig,
): Promise<TemporalConnectError> {
  const detail = (err as Error)?.message ?? String(err);
  const clientCertConfigured = tls.clientCertPair !== undefined;
  const tlsLike =
    /connection closed|broken pipe|stream closed|cancel|before the deadline|reset|eof|certificate|handshake|tls|ssl|unknown ?ca|bad ?cert|alert/i.test(
      detail,
    );
  const reason: TlsFailureReason = tlsLike
    ? (
        await diagnoseTlsHandshake(address, {
          ...(tls.serverNameOverride ? { serverName: tls.serverNameOverride } : {}),
          ...(tls.serverRootCACertificate ? { ca: tls.serverRootCACertificate } : {}),
          ...(tls.clientCertPair ? { cert: tls.clientCertPair.crt, key: tls.clientCertPair.key } : {}),
        }).catch(() => ({ reason: 'unknown' as const }))
      ).reason
    : 'unknown';
  return new TemporalConnectError(
    'temporal.connect_failed',
    `cannot connect to Temporal at ${address}: ${hintFor(reason, clientCertConfigured, tlsLike, tls)} (${detail})`,
    { cause: err, reason },
  );
}

function hintFor(reason: TlsFailureReason, clientCert: boolean, tlsLike: boolean, tls: TLSConfig): string {
  switch (reason) {
    case 'client_certificate_required':
      return clientCert
        ? 'the server requires a client certificate and did not get a usable one'
        : 'the TLS handshake failed: no client certificate was configured and the server requires one (mTLS); ' +
            'set clientCertPath and clientKeyPath (or clientCert/clientKey)';
    case 'client_certificate_unknown_ca':
      return 'the server refused the client certificate: it is not signed by a CA the server trusts (alert: unknown CA)';
    case 'client_certificate_expired':
      return 'the server refused the client certificate: the client certificate has expired (or is not yet valid)';
    case 'client_certificate_bad':
      return 'the server refused the client certificate as unusable (check its key usage: clientAuth)';
    case 'server_name_mismatch':
      return `the server name ${JSON.stringify(tls.serverNameOverride ?? '(the address host)')} does not match the server certificate; set serverName to a name in it`;
    case 'server_certificate_untrusted':
      return 'the server certificate is not signed by the configured CA (caCert/caCertPath), or has expired';
    case 'unreachable':
      return 'nothing answers at that address: check the address and that the server is running';
    default:
      if (!clientCert && tlsLike) {
        return (
          'the TLS handshake failed: no client certificate was configured and the server requires one (mTLS); ' +
          'set clientCertPath and clientKeyPath (or clientCert/clientKey)'
        );
      }
      return tlsLike
        ? 'the TLS handshake failed or the server closed the connection: check that the client certificate is signed ' +
            'by a CA the server trusts and not expired, and that caCertPath/serverName match the server certificate'
        : 'check the address, that the server is running, and the TLS settings';
  }
}
