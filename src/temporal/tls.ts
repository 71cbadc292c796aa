import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import type { TLSConfig } from '@temporalio/client';
import { TemporalConnectError } from './errors.js';

/**
 * mTLS material, each part given as a PEM string/Buffer or as a file path (not both). Paths are
 * re-read on every connect, so a rotated certificate is picked up by the next connection.
 */
export interface TlsOptions {
  /** Name to verify the server certificate against, when it differs from the address host. */
  serverName?: string;
  /** CA that signed the server certificate. Default: the system roots. */
  caCert?: string | Buffer;
  caCertPath?: string;
  /** Client certificate (PEM chain). Required together with the key. */
  clientCert?: string | Buffer;
  clientCertPath?: string;
  clientKey?: string | Buffer;
  clientKeyPath?: string;
}

/** Validates `options` and reads any files into the shape Temporal's connections take. */
export async function loadTlsConfig(options: TlsOptions): Promise<TLSConfig> {
  const ca = await material(options, 'caCert');
  const cert = await material(options, 'clientCert');
  const key = await material(options, 'clientKey');
  if ((cert === undefined) !== (key === undefined)) {
    throw new TypeError('TlsOptions: clientCert(Path) and clientKey(Path) must be given together');
  }
  if (cert && key) assertKeyMatchesCertificate(cert, key);
  return {
    ...(options.serverName ? { serverNameOverride: options.serverName } : {}),
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(cert && key ? { clientCertPair: { crt: cert, key } } : {}),
  };
}

async function material(
  options: TlsOptions,
  name: 'caCert' | 'clientCert' | 'clientKey',
): Promise<Buffer | undefined> {
  const inline = options[name];
  const path = options[`${name}Path`];
  if (inline !== undefined && path !== undefined) {
    throw new TypeError(`TlsOptions: give ${name} or ${name}Path, not both`);
  }
  if (inline !== undefined) return Buffer.from(inline);
  if (path === undefined) return undefined;
  try {
    return await readFile(path);
  } catch (cause) {
    throw new TemporalConnectError(
      'temporal.tls_file_unreadable',
      `cannot read ${name}Path ${path}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`,
      { cause },
    );
  }
}

/**
 * Fails early, with a message naming the cause, on a certificate/key pair that cannot work: the native
 * connection would otherwise report only a generic TLS failure, and a rotation caught between writing
 * the certificate and the key would look like a server problem.
 */
function assertKeyMatchesCertificate(cert: Buffer, key: Buffer): void {
  try {
    createSecureContext({ cert, key });
  } catch (cause) {
    throw new TemporalConnectError(
      'temporal.tls_material_invalid',
      `the client certificate and key cannot be used together: ${(cause as Error).message} ` +
        '(check that clientKey belongs to clientCert and both are PEM)',
      { cause },
    );
  }
}
