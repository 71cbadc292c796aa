// Why a TLS handshake with the Temporal frontend failed. Neither Temporal connection says (the Rust
// core often sees only "broken pipe", grpc-js "Failed to connect before the deadline"), but one plain
// TLS handshake with the same material gets the server's alert or the local verification error,
// which name the cause exactly. connectError runs it only after a connection already failed.
import { connect } from 'node:tls';

export type TlsFailureReason =
  | 'accepted'
  | 'client_certificate_required'
  | 'client_certificate_unknown_ca'
  | 'client_certificate_expired'
  | 'client_certificate_bad'
  | 'server_name_mismatch'
  | 'server_certificate_untrusted'
  | 'unreachable'
  | 'unknown';

const byCode: Record<string, TlsFailureReason> = {
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'client_certificate_required',
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: 'client_certificate_required',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'client_certificate_unknown_ca',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'client_certificate_expired',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'client_certificate_bad',
  ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE: 'client_certificate_bad',
  ERR_TLS_CERT_ALTNAME_INVALID: 'server_name_mismatch',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'server_certificate_untrusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'server_certificate_untrusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'server_certificate_untrusted',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'server_certificate_untrusted',
  CERT_HAS_EXPIRED: 'server_certificate_untrusted',
  ECONNREFUSED: 'unreachable',
  ETIMEDOUT: 'unreachable',
  ENOTFOUND: 'unreachable',
};

/**
 * One TLS handshake to `address` with the connection's material. With TLS 1.3 the server checks the
 * client certificate after the client already finished its side, so the alert arrives on the first
 * read: the probe writes the HTTP/2 preface and waits `waitMs` for an alert before calling it accepted.
 */
export function diagnoseTlsHandshake(
  address: string,
  material: { serverName?: string; ca?: Uint8Array; cert?: Uint8Array; key?: Uint8Array },
  waitMs = 1_500,
): Promise<{ reason: TlsFailureReason; detail: string }> {
  const [host, port] = splitAddress(address);
  return new Promise((resolve) => {
    const socket = connect({
      host,
      port,
      servername: material.serverName ?? host,
      ALPNProtocols: ['h2'],
      ...(material.ca ? { ca: Buffer.from(material.ca) } : {}),
      ...(material.cert && material.key
        ? { cert: Buffer.from(material.cert), key: Buffer.from(material.key) }
        : {}),
    });
    const done = (reason: TlsFailureReason, detail: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ reason, detail });
    };
    const timer = setTimeout(() => done('accepted', 'no alert'), waitMs + 5_000);
    socket.once('secureConnect', () => {
      socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
      setTimeout(() => done('accepted', 'no alert'), waitMs);
    });
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done(byCode[err.code ?? ''] ?? 'unknown', `${err.code ?? ''} ${err.message}`),
    );
    socket.once('close', () => done('unknown', 'the server closed the connection without an alert'));
  });
}

function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon).replace(/^\[|\]$/g, ''), Number(address.slice(colon + 1))];
}
