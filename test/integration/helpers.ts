import { readFile } from 'node:fs/promises';
import { Connection } from '@temporalio/client';
import { inject } from 'vitest';
import { ClientCredentialsTokenSource } from '../../src/auth/client-credentials.js';
import type { DevConfig } from '../../src/devstack/dev-config.js';

export function devConfig(): DevConfig {
  return inject('devConfig');
}

/**
 * A plain Temporal SDK connection with a fixed (or no) bearer token and no tokenrelay code in the
 * path, for asserting what the server itself accepts or refuses.
 */
export async function rawConnection(
  config: DevConfig,
  options: { token?: string; clientCert?: boolean } = {},
): Promise<Connection> {
  const t = config.temporal;
  const withCert = options.clientCert ?? true;
  return Connection.connect({
    address: t.address,
    tls: {
      serverNameOverride: t.serverName,
      serverRootCACertificate: await readFile(t.caCertPath),
      ...(withCert
        ? { clientCertPair: { crt: await readFile(t.clientCertPath), key: await readFile(t.clientKeyPath) } }
        : {}),
    },
    ...(options.token ? { metadata: { authorization: `Bearer ${options.token}` } } : {}),
    connectTimeout: 5_000,
  });
}

/**
 * Connects with `options` and makes one call; the gRPC code of whichever step failed, or 'ok'. A bad
 * token is refused as early as the connect-time GetSystemInfo, so the two count as one step.
 */
export async function callCode(
  config: DevConfig,
  options: { token?: string; clientCert?: boolean },
  call: (c: Connection) => Promise<unknown>,
): Promise<number | 'ok'> {
  let connection: Connection | undefined;
  try {
    return await grpcCodeOf(
      rawConnection(config, options).then((c) => {
        connection = c;
        return call(c);
      }),
    );
  } finally {
    await connection?.close();
  }
}

/** The gRPC status code a failed call carries (7 PermissionDenied, 16 Unauthenticated, …). */
export async function grpcCodeOf(call: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await call;
    return 'ok';
  } catch (err) {
    const e = err as { code?: number; cause?: { code?: number } };
    return e.code ?? e.cause?.code ?? -1;
  }
}

export async function issueToken(config: DevConfig, app: keyof DevConfig['apps']): Promise<string> {
  const { clientId, clientSecret } = config.apps[app];
  const source = new ClientCredentialsTokenSource({
    tokenUrl: config.issuer.tokenUrl,
    clientId,
    clientSecret,
  });
  return (await source.getToken()).token;
}
