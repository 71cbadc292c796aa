import { status as GrpcStatus } from '@grpc/grpc-js';
import { Connection, type TLSConfig } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { RefreshingToken } from '../auth/refreshing-token.js';
import { type AuthRejectedEvent, authInterceptors } from './auth-interceptors.js';
import { ClientCertificateWatch } from './client-certificates.js';
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
  /**
   * How often to check the client certificate, key and CA files for a replacement; on a change the
   * connection's new calls move to a channel built with the new files (once a call on it went
   * through), and calls in flight finish on the old one. `false` turns watching off (call
   * `reloadCertificates()` yourself). Default 5000 ms; only file paths can be watched.
   */
  certificateCheckIntervalMs?: number | false;
  /** Called after replaced certificate files were swapped in. */
  onCertificatesReloaded?: () => void;
  /** Called when replaced files could not be used; the connection keeps its current certificates. */
  onCertificateReloadFailed?: (error: Error) => void;
}

/** A client `Connection` that follows replaced certificate files; see {@link connectClient}. */
export interface ClientConnection extends Connection {
  /**
   * Re-reads the TLS files now and moves new calls to a channel using them, once a call on it went
   * through. Rejects (and keeps the current certificates) when the new files cannot be used.
   */
  reloadCertificates(): Promise<void>;
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
      throw await connectError(settings.address, err, tls, apiKey);
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
 * went stale is retried once with a new one. Like a worker's, the connection follows replaced
 * certificate files (see `certificateCheckIntervalMs`), so a long-lived client — the one activities
 * read their token with, say — outlives its first certificate.
 *
 * @example
 * const connection = await connectClient({ address, tls, token });
 * const client = new Client({ connection, namespace: 'default' });
 */
export async function connectClient(options: ConnectClientOptions): Promise<ClientConnection> {
  const settings = resolveConnectionSettings(options, 'connectClient');
  requireToken(options, 'connectClient');
  const interval = options.certificateCheckIntervalMs ?? 5_000;
  if (interval !== false && !(interval > 0)) {
    throw new TypeError('connectClient: options.certificateCheckIntervalMs must be > 0 or false');
  }
  const tls = await loadTlsConfig(settings.tls);
  await options.token.get();
  const watch = new ClientCertificateWatch({
    tls: settings.tls,
    intervalMs: interval,
    token: () => options.token.current(),
    describeFailure: (err, material) => connectError(settings.address, err, material),
    onCertificatesReloaded: options.onCertificatesReloaded,
    onCertificateReloadFailed: options.onCertificateReloadFailed,
  });
  let connection: Connection | undefined;
  try {
    connection = Connection.lazy({
      address: settings.address,
      tls,
      channelArgs: watch.channelArgs(tls),
      interceptors: authInterceptors({
        token: options.token,
        ...(options.onAuthRejected ? { onRejected: options.onAuthRejected } : {}),
      }),
    });
    await connection.ensureConnected();
  } catch (err) {
    // A lazy connection that failed to connect still holds a channel (and its retry timers).
    await connection?.close().catch(() => {});
    throw await connectError(settings.address, err, tls, options.token.current());
  }
  await watch.start();
  return Object.assign(connection, { reloadCertificates: () => watch.reload() });
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
  token?: string,
): Promise<TemporalConnectError> {
  const refusal = tokenRefusal(err);
  if (refusal) {
    return new TemporalConnectError(
      'temporal.token_rejected',
      tokenRejectedMessage(address, refusal, token),
      {
        cause: err,
        reason: refusal.reason,
      },
    );
  }
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

interface TokenRefusal {
  reason: 'permission_denied' | 'unauthenticated';
  detail: string;
}

/**
 * Whether the server answered the connect-time call with PermissionDenied (7) or Unauthenticated
 * (16): the TLS handshake worked and the token is the problem. The client's ServiceError carries the
 * gRPC status as its cause; the worker's native connection only says it in the message.
 */
export function tokenRefusal(err: unknown): TokenRefusal | undefined {
  let e = err as { code?: unknown; details?: unknown; message?: unknown; cause?: unknown } | undefined;
  const texts: string[] = [];
  for (let depth = 0; e && depth < 5; depth++, e = e.cause as typeof e) {
    const detail = typeof e.details === 'string' ? e.details : typeof e.message === 'string' ? e.message : '';
    if (e.code === GrpcStatus.PERMISSION_DENIED) return { reason: 'permission_denied', detail };
    if (e.code === GrpcStatus.UNAUTHENTICATED) return { reason: 'unauthenticated', detail };
    texts.push(detail);
  }
  const text = texts.join(' ');
  // The native connection's message carries tonic's descriptions of the two codes.
  if (/permission ?denied|does not have permission to execute/i.test(text)) {
    return { reason: 'permission_denied', detail: text };
  }
  if (/unauthenticated|does not have valid authentication credentials/i.test(text)) {
    return { reason: 'unauthenticated', detail: text };
  }
  return undefined;
}

function tokenRejectedMessage(address: string, refusal: TokenRefusal, token: string | undefined): string {
  const status = refusal.reason === 'permission_denied' ? 'PermissionDenied' : 'Unauthenticated';
  const said = refusal.detail.replace(/\s+/g, ' ').trim().slice(0, 200);
  const claims = describeClaims(token);
  return (
    `Temporal at ${address} refused the token (${status}${said ? `: ${said}` : ''}); the address and TLS are ` +
    'fine, the token is not. Check that its `aud` is the audience the server expects, that its ' +
    'permissions claim grants this namespace (a provider that puts them in another claim, such as `scp`, ' +
    'needs the server’s permissionsClaimName set to it), that its `kid` is in the JWKS the server reads ' +
    '(a key newer than the server’s JWKS refresh is not known yet), and that it has not expired' +
    (claims ? `. The token has ${claims}` : '')
  );
}

/** aud, kid, permission count and expiry of `token`: enough to compare against the server's settings. */
function describeClaims(token: string | undefined): string | undefined {
  if (!token) return undefined;
  try {
    const header = decodeProtectedHeader(token);
    const claims = decodeJwt(token);
    const aud = Array.isArray(claims.aud) ? claims.aud.join(',') : claims.aud;
    const permissions = claims.permissions;
    const parts = [
      `aud ${JSON.stringify(aud ?? null)}`,
      `kid ${JSON.stringify(header.kid ?? null)}`,
      Array.isArray(permissions)
        ? `${permissions.length} entr${permissions.length === 1 ? 'y' : 'ies'} in \`permissions\``
        : 'no `permissions` claim',
    ];
    if (typeof claims.exp === 'number') {
      const left = Math.round(claims.exp - Date.now() / 1000);
      parts.push(left > 0 ? `exp in ${left} s` : `exp ${-left} s ago`);
    }
    return parts.map((p) => p.slice(0, 120)).join(', ');
  } catch {
    return 'a value that is not a JWT';
  }
}
